"""``jetnb serve``'s strategy: ``--max-runs`` worker threads take queued runs as the store admits them.

Runs are recorded as queued (durably) before they get here, so this queue
is only the order of work; a run left in it when the server stops stays
``queued`` in the store and the next server start picks it up. Admission
is the store's (see ``store/runs.py``), so a run started by ``jetnb run`` in
another terminal holds its slot here too; a workflow whose slots are taken
is asked about again every ``RETRY`` seconds because such a slot frees
without telling this process. Worker threads write run bookkeeping (steps,
admission, the final status) without waiting for the disk: a power cut may
lose the last of it, never an acknowledged submission (those are the group
committer's, ``commits.py``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from concurrent.futures import Future

from ..protocol import RunStatus
from .admission import Admission
from .strategies import Executes

log = logging.getLogger("jetnb.serve")
RETRY = 0.5  # seconds before a workflow whose slots are taken is asked about again (another process may free one)


class Dispatcher:
    """Worker threads taking queued runs in order per workflow, as the store admits them.

    Only the oldest queued run of each workflow is asked about; a workflow
    whose slots are all taken is not asked again until a run of it ends here
    or ``RETRY`` seconds pass, so a backlog of thousands of queued runs costs
    one admission question per free slot, not one per queued run.
    """

    durable = True

    def __init__(self, max_runs: int):
        self.max_runs = max_runs
        self.service: Executes | None = None
        self._cond = threading.Condition()
        self._arrived: deque[str] = deque()  # submitted, workflow not looked up yet
        self._sorting = False  # a worker is looking up arrivals' workflows (one at a time keeps their order)
        self._queues: dict[str, deque[str]] = {}  # workflow -> its queued runs, oldest first
        self._blocked: dict[str, float] = {}  # workflow -> when (monotonic) to ask about its oldest run again
        self._asking: set[str] = set()  # workflows whose oldest run a worker is asking the store about
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

    def submit(self, run_id: str, workflow: str | None = None) -> None:
        """Queue a run; with its ``workflow`` known (and nothing waiting to be sorted ahead of it) straight behind
        that workflow's runs, waking a worker only if the workflow may be asked about now."""
        with self._cond:
            if run_id in self._futures:
                return
            self._futures[run_id] = Future()
            if workflow is not None and not self._arrived and not self._sorting:
                self._queues.setdefault(workflow, deque()).append(run_id)
                if workflow not in self._asking and self._blocked.get(workflow, 0.0) <= time.monotonic():
                    self._cond.notify()
                return
            if not self._arrived and not self._sorting:  # else a worker was woken for arrivals and takes these too
                self._cond.notify()
            self._arrived.append(run_id)

    def future(self, run_id: str) -> Future | None:
        """Resolves to the run's final (or waiting) status; None when the run is not in this server's hands."""
        with self._cond:
            return self._futures.get(run_id)

    def discard(self, run_id: str) -> None:
        with self._cond:
            for queue in (self._arrived, *self._queues.values()):
                if run_id in queue:
                    queue.remove(run_id)
                    self._resolve(run_id, RunStatus.CANCELLED)
                    return

    def _resolve(self, run_id: str, status: str) -> None:
        future = self._futures.pop(run_id, None)
        if future is not None and not future.done():
            future.set_result(str(status))

    def _next(self) -> tuple[str, str] | None:
        """The next admitted run and its workflow; None when stopping. Store questions are asked outside the lock."""
        while True:
            with self._cond:
                if self._stopping:
                    return None
                arrived = self._take_arrivals()
                candidate = None if arrived else self._candidate()
                if not arrived and candidate is None:
                    self._cond.wait(self._retry_in())
                    continue
            if arrived:
                self._sort(arrived)
                continue
            workflow, run_id = candidate
            verdict, _ = self.service.admit(run_id)
            status = self.service.status(run_id) if verdict == Admission.DROP else None
            with self._cond:
                self._asking.discard(workflow)
                if verdict == Admission.WAIT:
                    self._blocked[workflow] = time.monotonic() + RETRY
                    continue
                self._dequeue(workflow, run_id)
                if verdict == Admission.ADMITTED:
                    return run_id, workflow
                self._resolve(run_id, status)
                self._cond.notify()  # the workflow's next run may be asked about now

    def _take_arrivals(self) -> list[str]:
        if self._sorting or not self._arrived:
            return []
        self._sorting = True
        arrived = list(self._arrived)
        self._arrived.clear()
        return arrived

    def _sort(self, arrived: list[str]) -> None:
        """Queue arrivals behind their workflow's earlier runs (one store read for all of them)."""
        try:
            workflows = self.service.workflows_of(arrived)
        finally:
            with self._cond:
                self._sorting = False
        with self._cond:
            for run_id in arrived:
                if run_id in self._futures and run_id in workflows:
                    self._queues.setdefault(workflows[run_id], deque()).append(run_id)
                elif run_id in self._futures:  # not in the store (never committed): nothing to run
                    self._resolve(run_id, RunStatus.CANCELLED)
            now = time.monotonic()  # this worker asks about one workflow next; wake others only for the rest
            askable = sum(1 for w in self._queues if w not in self._asking and self._blocked.get(w, 0.0) <= now)
            self._cond.notify(max(askable - 1, 0))

    def _candidate(self) -> tuple[str, str] | None:
        """A workflow not blocked nor being asked about, with its oldest queued run; marked as being asked."""
        now = time.monotonic()
        for workflow, queue in self._queues.items():
            if workflow in self._asking or self._blocked.get(workflow, 0.0) > now:
                continue
            self._blocked.pop(workflow, None)
            self._asking.add(workflow)
            return workflow, queue[0]
        return None

    def _dequeue(self, workflow: str, run_id: str) -> None:
        queue = self._queues.get(workflow)
        if queue and queue[0] == run_id:
            queue.popleft()
        elif queue and run_id in queue:
            queue.remove(run_id)
        if queue is not None and not queue:
            del self._queues[workflow]
            self._blocked.pop(workflow, None)

    def _retry_in(self) -> float | None:
        """Seconds until a blocked workflow is asked about again; None (wait for a notify) when none is blocked."""
        waiting = [self._blocked[w] for w in self._queues if w in self._blocked]
        return max(min(waiting) - time.monotonic(), 0.01) if waiting else None

    def _work(self) -> None:
        me = threading.get_ident()
        self.service.db.store(durable=False)  # this thread's run bookkeeping need not wait for the disk (see docs)
        try:
            while (taken := self._next()) is not None:
                run_id, workflow = taken
                self._inflight[me] = run_id
                try:
                    self.service.execute(run_id)
                except Exception:
                    log.exception("run %s: the server failed to execute it", run_id)
                finally:
                    self._inflight.pop(me, None)
                    status = self.service.status(run_id)
                    with self._cond:
                        self._resolve(run_id, status)
                        self._blocked.pop(workflow, None)  # a slot of its workflow is free
                        self._cond.notify_all()
        finally:
            self.service.db.release()

    def stop(self, grace: float, hurry: threading.Event) -> list[str]:
        """Start nothing new; give running runs ``grace`` seconds (less if ``hurry`` is set), then interrupt them.

        Returns the ids of the runs it interrupted. Runs still queued stay
        queued in the store for the next start.
        """
        with self._cond:
            self._stopping = True
            left = [*self._arrived, *(run_id for queue in self._queues.values() for run_id in queue)]
            self._arrived.clear()
            self._queues.clear()
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
