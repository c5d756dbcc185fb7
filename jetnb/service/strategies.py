"""Where executions happen: inline in the caller (the CLI) or in a background thread per run (widgets).

Whatever the strategy, a run starts only when the store admits it (the
workflow's ``concurrency`` and ``overlap`` across every process), so a
strategy only decides *where* and *when to try*. ``jetnb serve``'s worker
pool is the third strategy, in ``dispatcher.py``.
"""

from __future__ import annotations

import signal
import threading
from collections import deque
from typing import Any, Callable, Protocol

from ..protocol import RunStatus
from ..store import Database
from .admission import Admission

WAIT_POLL = 0.25  # seconds between looks at the store while a run waits for a free slot
OnWait = Callable[[str, list[dict]], None]  # (run id, the runs it waits behind), once per run


class Executes(Protocol):
    """What a strategy needs of the run service that owns it."""

    db: Database
    stopping: threading.Event

    def admit(self, run_id: str) -> tuple[Admission, list[dict[str, Any]]]: ...

    def execute(self, run_id: str) -> RunStatus: ...

    def status(self, run_id: str) -> RunStatus: ...

    def workflows_of(self, run_ids: list[str]) -> dict[str, str]: ...

    def interrupt(self, run_id: str, reason: str) -> None: ...

    def interrupt_all(self, reason: str) -> None: ...

    def fail(self, run_id: str, exc: BaseException, *, why: str | None = None) -> RunStatus: ...


class Strategy(Protocol):
    durable: bool  # queued runs outlive this process (a server picks them up)

    def bind(self, service: Executes) -> None: ...

    def submit(self, run_id: str, workflow: str | None = None) -> None:
        """Execute the recorded, queued run (now, later or elsewhere); ``workflow`` is its workflow's name when the
        caller knows it (the dispatcher then need not read it from the store)."""
        ...

    def discard(self, run_id: str) -> None:
        """The queued run was cancelled; forget it."""
        ...


def run_when_admitted(service: Executes, run_id: str, on_wait: OnWait | None = None) -> None:
    """Wait (polling the store) until the run may start, then execute it; a run cancelled meanwhile is dropped."""
    told = False
    while True:
        verdict, ahead = service.admit(run_id)
        if verdict == Admission.ADMITTED:
            service.execute(run_id)
            return
        if verdict == Admission.DROP:
            return
        if on_wait is not None and not told:
            on_wait(run_id, ahead)
            told = True
        service.stopping.wait(WAIT_POLL)
        if service.stopping.is_set():
            return


class Inline:
    """The CLI: the run executes in the calling thread before ``submit`` returns; follow-ups run after it.

    Ctrl-C is the run's interrupt, not the process's: the first one stops the
    run the way ``jetnb serve`` stops its runs (the kernel is interrupted, the
    run log saved, the run recorded ``interrupted``), so nothing is torn down
    mid-reply; a second Ctrl-C raises KeyboardInterrupt at once.
    """

    durable = False

    def __init__(self, on_wait: OnWait | None = None):
        self.on_wait = on_wait
        self._pending: deque[str] = deque()
        self._busy = False
        self.service: Executes | None = None

    def bind(self, service: Executes) -> None:
        self.service = service

    def submit(self, run_id: str, workflow: str | None = None) -> None:
        self._pending.append(run_id)
        if self._busy:
            return  # a handler notebook or a resume asked for by the run in progress: it runs next
        self._busy = True
        previous = self._catch_ctrl_c()
        try:
            while self._pending and not self.service.stopping.is_set():
                current = self._pending.popleft()
                run_when_admitted(self.service, current, self.on_wait)
                if self.service.stopping.is_set() and self.service.status(current) == RunStatus.QUEUED:
                    self.service.fail(current, KeyboardInterrupt())  # Ctrl-C while it waited for a slot
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            self._busy = False
            self._pending.clear()

    def _catch_ctrl_c(self) -> Any:
        """Install the Ctrl-C handler (main thread only); returns the handler to put back."""
        if threading.current_thread() is not threading.main_thread():
            return None

        def interrupted(signum: int, frame: Any) -> None:
            if self.service.stopping.is_set():
                raise KeyboardInterrupt
            self.service.stopping.set()
            self.service.interrupt_all("interrupted (Ctrl-C)")

        return signal.signal(signal.SIGINT, interrupted)

    def discard(self, run_id: str) -> None:
        if run_id in self._pending:
            self._pending.remove(run_id)


class Threads:
    """Widgets: each run in a daemon thread of its own, so the notebook stays free while it executes."""

    durable = False

    def __init__(self) -> None:
        self.service: Executes | None = None

    def bind(self, service: Executes) -> None:
        self.service = service

    def submit(self, run_id: str, workflow: str | None = None) -> None:
        threading.Thread(target=self._run, args=(run_id,), name=f"jetnb-run-{run_id}", daemon=True).start()

    def _run(self, run_id: str) -> None:
        try:
            run_when_admitted(self.service, run_id)
        finally:
            self.service.db.release()

    def discard(self, run_id: str) -> None:
        """Its thread sees the run is no longer queued at its next look and ends."""
