"""Kernel side of jetnb: the IPython extension that gives ``%%workflow``, ``%%step``, ``%%handler`` and ``%%result``.

It never touches the store; it reports to whoever runs the kernel through
display events (see ``jetnb.events``) and reads its run context from
``configure`` (called by the runner) or defaults (a person in JupyterLab).
"""

from __future__ import annotations

from typing import Any


def load_ipython_extension(shell: Any) -> None:
    from .magics import JetnbMagics

    shell.register_magics(JetnbMagics(shell))


def unload_ipython_extension(shell: Any) -> None:
    """Nothing to undo: magics stay registered until the kernel restarts."""
