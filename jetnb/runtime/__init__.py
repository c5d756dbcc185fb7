"""Kernel side of jetnb: the IPython extension that gives ``%%workflow``, ``%%step``, ``%%handler`` and ``%%result``.

It never touches the store; it reports to whoever runs the kernel through
display events (see ``jetnb.protocol``) and reads its run context from
``configure`` (called by the runner) or defaults (a person in JupyterLab).
"""

from __future__ import annotations

from typing import Any


def load_ipython_extension(shell: Any) -> None:
    from . import context, deadlines
    from .execution import describe_error
    from .magics import JetnbMagics
    from .secrets import Secret

    def before_cell(info: Any) -> None:
        if (getattr(info, "raw_cell", "") or "").startswith("%jetnb_finish"):
            deadlines.set_run_deadline(None, "")  # run-level handlers still run after a run timeout
        deadlines.cell_started()

    def after_cell(result: Any) -> None:
        deadlines.cell_finished()
        if result.error_in_exec is not None:
            context.current().last_failure = describe_error(result.error_in_exec)

    shell.register_magics(JetnbMagics(shell))
    shell.events.register("pre_run_cell", before_cell)
    shell.events.register("post_run_cell", after_cell)
    context.bind_names()
    shell.push({"Secret": Secret}, interactive=False)  # for ``api_key: Secret = None`` in the parameters cell


def unload_ipython_extension(shell: Any) -> None:
    """Nothing to undo: magics stay registered until the kernel restarts."""
