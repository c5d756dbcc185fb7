"""One step's life in the kernel: guard, run, time, report."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from typing import Any

from IPython.display import display

from ..events import bundle
from ..headers import Header
from .execution import describe_error, run_body


class StepError(Exception):
    """A failure that belongs to the step's header rather than its code (e.g. a guard that raised)."""


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class StepReporter:
    """Shows one status line for a step and keeps it current; the same line carries the runner's event."""

    def __init__(self, name: str, kind: str = "step"):
        self.event: dict[str, Any] = {"event": "step", "step": name, "kind": kind, "status": "running",
                                      "started_at": now_iso()}
        self._clock = time.perf_counter()
        self._handle = display(bundle(self.event), raw=True, display_id=True)

    def update(self, **changes: Any) -> None:
        self.event.update(changes)
        self._handle.update(bundle(self.event), raw=True)

    def finish(self, status: str, **details: Any) -> None:
        self.update(status=status, finished_at=now_iso(),
                    duration=round(time.perf_counter() - self._clock, 6), **details)


def run_step(shell: Any, header: Header, body: str) -> Any:
    """Run a ``%%step`` body under its header's rules; re-raises the step's error so the cell fails."""
    __tracebackhide__ = True
    reporter = StepReporter(header.name or "step")
    when = header.get("when")
    if when is not None:
        try:
            allowed = eval(when, shell.user_ns)
        except Exception as exc:
            error = StepError(f"step {header.name!r}: --when {when!r} raised {type(exc).__name__}: {exc}")
            reporter.finish("failed", error=describe_error(error))
            raise error from exc
        if not allowed:
            reporter.finish("skipped", reason=f"when {when} is false")
            return None
    try:
        value = run_body(shell, body)
    except BaseException as exc:
        stopped = isinstance(exc, KeyboardInterrupt)  # Ctrl-C, or a server stopping: the run did not fail here
        reporter.finish("interrupted" if stopped else "failed", error=describe_error(exc))
        raise
    reporter.finish("succeeded")
    return value
