"""What the kernel knows about the run it is part of: set by the runner, or defaults for interactive use."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from .outcomes import Steps


@dataclass
class RunContext:
    run_id: str | None = None
    workflow: str | None = None
    headless: bool = False
    trigger: str = "interactive"
    params: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    run_started: float | None = None
    result: Any = None
    handlers: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    steps: Steps = field(default_factory=Steps)
    last_failure: dict[str, Any] | None = None
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)
    started_by: str | None = None
    journal: Any = None
    suspended: str | None = None


_current = RunContext()


def current() -> RunContext:
    return _current


def configure(**values: Any) -> RunContext:
    """Called once by the runner's bootstrap before the first cell; a fresh context per run."""
    global _current
    timeout = values.pop("timeout", None)
    journal_dir = values.pop("journal_dir", None)
    cwd = values.pop("cwd", None)
    if cwd:
        os.chdir(cwd)  # a pre-started kernel began elsewhere; relative paths mean the notebook's folder
    _current = RunContext(**values)
    if journal_dir:
        from .journal import Journal

        _current.journal = Journal(journal_dir)
    bind_names()
    if timeout is not None:
        from .deadlines import set_run_deadline

        elapsed = time.time() - (_current.run_started or time.time())
        set_run_deadline(timeout - elapsed, f"workflow {_current.workflow!r} exceeded its timeout of {timeout:g}s")
    return _current


def bind_names() -> None:
    """Make ``steps`` visible in the notebook (a reserved name, like GitHub Actions' ``steps``)."""
    from IPython import get_ipython

    shell = get_ipython()
    if shell is not None:
        shell.user_ns["steps"] = _current.steps
