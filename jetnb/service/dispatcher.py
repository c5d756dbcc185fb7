"""``jetnb serve``'s strategy: ``--max-runs`` worker threads take queued runs as the store admits them.

Runs are recorded as queued (durably) before they get here, so this queue
is only the order of work; a run left in it when the server stops stays
``queued`` in the store and the next server start picks it up. Admission
is the store's (see ``store/runs.py``), so a run started by ``jetnb run`` in
another terminal holds its slot here too; idle workers look again every
``RETRY`` seconds because such a slot frees without telling this process.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future
from ..protocol import RunStatus
from .admission import Admission
from .strategies import Executes

log = logging.getLogger("jetnb.serve")
RETRY = 0.5  # seconds an idle worker waits before asking the store again about runs waiting for a slot


class Dispatcher:
    durable = True

    def __init__(self, max_runs: int):
        self.max_runs = max_runs
        self.service: Executes | None = None
        self._cond = threading.Condition()
        self._queue: list[str] = []
        self._futures: dict[str, Future] = {}
        self._inflight: dict[int, str] = {}  # worker thread id -> the run it is executing
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def bind(self, service: Executes) -> None:
        self.service = service

    def start(self) -> None:
        for number in range(self.max_runs):
            thread = threading.Thread(target=self._work, name=f"jetnb-run-{number + 1}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def submit(self, run_id: str) -> None:
        with self._cond:
            if run_id not in self._futures:
                self._queue.append(run_id)
                self._futures[run_id] = Future()
            self._cond.notify_all()

    def future(self, run_id: str) -> Future | None:
        """Resolves to the run's final (or waiting) status; None when the run is not in this server's hands."""
        with self._cond:
            return self._futures.get(run_id)

    def discard(self, run_id: str) -> None:
        with self._cond:
            if run_id in self._queue:
                self._queue.remove(run_id)
                self._resolve(run_id, RunStatus.CANCELLED)

    def _resolve(self, run_id: str, status: str) -> None:
        future = self._futures.pop(run_id, None)
        if future is not None and not future.done():
            future.set_result(str(status))

    def _next(self) -> str | None:
        with self._cond:
            while not self._stopping:
                for run_id in list(self._queue):
                    verdict, _ = self.service.admit(run_id)
                    if verdict == Admission.WAIT:
                        continue
                    self._queue.remove(run_id)
                    if verdict == Admission.ADMITTED:
                        return run_id
                    self._resolve(run_id, self.service.status(run_id))
                self._cond.wait(RETRY if self._queue else None)
            return None

    def _work(self) -> None:
        me = threading.get_ident()
        try:
            while (run_id := self._next()) is not None:
                self._inflight[me] = run_id
                try:
                    self.service.execute(run_id)
                except Exception:
                    log.exception("run %s: the server failed to execute it", run_id)
                finally:
                    self._inflight.pop(me, None)
                    with self._cond:
                        self._resolve(run_id, self.service.status(run_id))
                        self._cond.notify_all()  # a slot of its workflow is free
        finally:
            self.service.db.release()

    def stop(self, grace: float, hurry: threading.Event) -> list[str]:
        """Start nothing new; give running runs ``grace`` seconds (less if ``hurry`` is set), then interrupt them.

        Returns the ids of the runs it interrupted. Runs still queued stay
        queued in the store for the next start.
        """
        with self._cond:
            self._stopping = True
            left = list(self._queue)
            self._queue.clear()
            for run_id in left:
                self._resolve(run_id, RunStatus.QUEUED)
            self._cond.notify_all()
        deadline = time.monotonic() + grace
        while self._inflight and time.monotonic() < deadline and not hurry.is_set():
            hurry.wait(0.1)
        interrupted = list(self._inflight.values())
        for run_id in interrupted:
            self.service.interrupt(run_id, "the server stopped before the run ended")
        for thread in self._threads:
            thread.join(timeout=60)
        return interrupted
