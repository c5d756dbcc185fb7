"""jetnb: workflows that are Jupyter notebooks.

Import is kept light (no papermill) because the CLI and the kernel
extension both start here; heavy parts load on first use.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"


def load_ipython_extension(shell: Any) -> None:
    """``%load_ext jetnb``: registers the jetnb cell magics; an interactive gate asks through the approval prompt."""
    from .runtime import gate, load_ipython_extension as load

    load(shell)
    gate.ask_person = _ask_person


def _ask_person(request: Any, run: Any) -> dict[str, Any]:
    from .widgets.approval_prompt import wait_for_decision

    return wait_for_decision(request, run)


def unload_ipython_extension(shell: Any) -> None:
    from .runtime import unload_ipython_extension as unload

    unload(shell)


def __getattr__(name: str) -> Any:
    if name == "Workflow":
        from .model.workflow import Workflow

        return Workflow
    if name == "run":
        from .api import run

        return run
    if name == "output":
        from .runtime.outputs import output

        return output
    if name in ("artifact", "ArtifactError"):
        from .runtime import artifacts

        return getattr(artifacts, name)
    if name in ("secret", "Secret"):
        from .runtime import secrets

        return getattr(secrets, name)
    if name == "show":
        from .widgets.show import show

        return show
    raise AttributeError(f"module 'jetnb' has no attribute {name!r}")
