"""What the kernel knows about the run it is part of: the typed ``RunContext`` the runner sent, and what the run
has produced so far (step outcomes, outputs, the result). Interactive use gets defaults.

The journal and the run deadline are attached by ``configure`` in
``runtime/bootstrap.py``; this module holds state only, so every other
kernel-side module can import it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..protocol import RunContext
from .outcomes import Steps


@dataclass
class KernelRun:
    context: RunContext = field(default_factory=RunContext)
    config: dict[str, Any] = field(default_factory=dict)  # the %%workflow values, once its cell has run
    result: Any = None
    outputs: dict[str, Any] = field(default_factory=dict)
    steps: Steps = field(default_factory=Steps)
    last_failure: dict[str, Any] | None = None
    journal: Any = None  # runtime.journal.Journal when the run can be resumed
    suspended: str | None = None  # the step whose gate suspended the run
    current_step: str | None = None  # the step whose body is running (actions record under it)

    @property
    def run_id(self) -> str | None:
        return self.context.run_id

    @property
    def workflow(self) -> str | None:
        return self.context.workflow or self.config.get("name")

    @property
    def headless(self) -> bool:
        return self.context.headless

    @property
    def handlers(self) -> dict[str, str]:
        return self.context.handlers


_current = KernelRun()


def current() -> KernelRun:
    return _current


def start(context: RunContext) -> KernelRun:
    """A fresh state for a new run (the runner's bootstrap), with ``steps`` bound in the notebook."""
    global _current
    _current = KernelRun(context)
    bind_names()
    return _current


def bind_names() -> None:
    """Make ``steps`` visible in the notebook (a reserved name, like GitHub Actions' ``steps``)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.user_ns["steps"] = _current.steps
