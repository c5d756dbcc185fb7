"""The server's run queue: runs start in worker threads within ``--max-runs`` and each workflow's ``concurrency``.

Runs are recorded as queued before they get here, so this queue is only the
order of work; a run left in it when the server stops stays ``queued`` in the
store and the next server start picks it up.
"""

from __future__ import annotations

import ctypes
import logging
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Callable

log = logging.getLogger("jetnb.serve")


@dataclass
class Job:
    run_id: str
    workflow: str
    limit: int  # the workflow's concurrency
    serial: bool = False  # overlap: queue -- wait until no other run of the workflow is running
    done: Future = field(default_factory=Future)  # resolves to the run's final status


class Dispatcher:
    """``execute(run_id)`` runs a queued run (and may be interrupted); ``finished(run_id)`` returns its final status."""

    def __init__(self, max_runs: int, execute: Callable[[str], None], finished: Callable[[str], str]):
        self.max_runs = max_runs
        self._execute = execute
        self._finished = finished
        self._cond = threading.Condition()
        self._queue: list[Job] = []
        self._running: dict[str, int] = {}
        self._jobs: dict[str, Job] = {}
        self._inflight: dict[int, Job] = {}  # worker thread id -> the job it is executing
        self._threads: list[threading.Thread] = []
        self._stopping = False

    def start(self) -> None:
        for number in range(self.max_runs):
            thread = threading.Thread(target=self._work, name=f"jetnb-run-{number + 1}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def submit(self, job: Job) -> Future:
        with self._cond:
            self._queue.append(job)
            self._jobs[job.run_id] = job
            self._cond.notify_all()
        return job.done

    def active(self, workflow: str) -> int:
        """Runs of ``workflow`` queued or running here."""
        with self._cond:
            return self._running.get(workflow, 0) + sum(1 for job in self._queue if job.workflow == workflow)

    def future(self, run_id: str) -> Future | None:
        job = self._jobs.get(run_id)
        return job.done if job else None

    def _eligible(self, job: Job) -> bool:
        running = self._running.get(job.workflow, 0)
        return running < job.limit and not (job.serial and running)

    def _next(self) -> Job | None:
        with self._cond:
            while not self._stopping:
                job = next((j for j in self._queue if self._eligible(j)), None)
                if job is not None:
                    self._queue.remove(job)
                    self._running[job.workflow] = self._running.get(job.workflow, 0) + 1
                    return job
                self._cond.wait()
            return None

    def _work(self) -> None:
        me = threading.get_ident()
        job: Job | None = None
        try:
            while (job := self._next()) is not None:
                self._inflight[me] = job
                try:
                    self._execute(job.run_id)
                except KeyboardInterrupt:
                    pass  # the server is stopping; finished() records the run as interrupted
                except Exception:
                    log.exception("run %s: the server failed to execute it", job.run_id)
                finally:
                    self._inflight.pop(me, None)
                self._settle(job)
                job = None
        except KeyboardInterrupt:  # an interrupt that arrived just after its run ended
            if job is not None:
                self._settle(job)

    def _settle(self, job: Job) -> None:
        status = "failed"
        try:
            status = self._finished(job.run_id)
        except Exception:
            log.exception("run %s: could not record how it ended", job.run_id)
        finally:
            with self._cond:
                self._running[job.workflow] -= 1
                self._jobs.pop(job.run_id, None)
                self._cond.notify_all()
        if not job.done.done():
            job.done.set_result(status)

    def shutdown(self, grace: float, hurry: threading.Event) -> list[str]:
        """Start nothing new; give running runs ``grace`` seconds (less if ``hurry`` is set), then interrupt them.

        Returns the ids of the runs it interrupted. Runs still queued stay
        queued in the store for the next start.
        """
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
            left = list(self._queue)
            self._queue.clear()
        for job in left:
            job.done.set_result("queued")
        deadline = time.monotonic() + grace
        while self._inflight and time.monotonic() < deadline and not hurry.is_set():
            hurry.wait(0.1)
        interrupted = []
        for ident, job in list(self._inflight.items()):
            interrupted.append(job.run_id)
            _raise_in_thread(ident, KeyboardInterrupt)
        for thread in self._threads:
            thread.join(timeout=30)
        return interrupted


def _raise_in_thread(ident: int, exc: type[BaseException]) -> None:
    """Deliver ``exc`` to a worker thread, as Ctrl-C delivers KeyboardInterrupt to ``jetnb run``.

    The run then takes the CLI's own interruption path: the backend records
    it ``interrupted``, nbclient shuts its kernel down and the log is saved.
    """
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(exc))
