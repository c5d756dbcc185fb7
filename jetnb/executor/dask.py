"""The ``dask`` backend: each run is a task on a Dask distributed cluster, executed by the jetnb engine on a worker.

The control plane (``jetnb serve``, ``jetnb run``) keeps the store: it
admits runs (concurrency, overlap, ``--max-runs`` hold across workers, since
each executing run holds one of its dispatcher's slots), submits one task
per run with ``distributed.Client.submit`` and applies what the task
reports to the run's observer (the ``RunRecorder``) as it arrives. On the
worker, the task runs the ``forked`` backend (a warm kernel forked from the
worker's zygote; it starts an ordinary kernel where it cannot fork) and
writes the run log and journal to the run's location (``jetnb.location``).

What travels where, per run (``<key>`` = ``jetnb-<run-id>-<nonce>``):

- the task's argument: the ``RunRequest`` without its secret values (the
  dashboard and the scheduler's task state show nothing secret);
- ``Variable <key>-secrets``: the values, set by the control plane, read
  once and deleted by the task before the kernel starts (a task the
  scheduler starts again after its worker died finds none and stops);
- ``Queue <key>-events``: ``started`` (which worker), then every kernel
  event (already masked by the engine), worker → control plane;
- ``Variable <key>-cancel``: a cancel or interrupt, control plane → task,
  which interrupts its kernel and shuts it down after the grace period.

A worker that dies mid-run (it leaves the scheduler, or the scheduler starts
the task on another one) ends the run failed, "worker lost", unless the
workflow's ``retries_on_worker_lost`` allows it to start again.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import replace
from typing import Any

from ..protocol import ProtocolError, RunOutcome, RunSecrets, RunStatus, from_dict, to_dict
from . import BackendUnavailable, Observer, RunRequest, get_backend
from .cancel import CancelSignal, StopKind

log = logging.getLogger("jetnb")

SCHEDULER_ENV = "JETNB_DASK_SCHEDULER"
CONNECT_TIMEOUT = 10.0  # seconds to reach the scheduler before the backend is reported unavailable
EVENT_WAIT = 0.2  # seconds the control plane waits for the next event before looking at the task
WORKER_CHECK = 1.0  # seconds between looks at whether the run's worker is still in the cluster
SECRETS_WAIT = 5.0  # seconds a task waits for its secrets; a task started again after its worker died finds none
CANCEL_WAIT = 0.5  # seconds between the task's looks for a cancel


class WorkerLost(Exception):
    """The worker executing a run left the cluster before the run ended."""

    def __init__(self, message: str, worker: str | None):
        super().__init__(message)
        self.worker = worker


class DaskBackend:
    name = "dask"

    def __init__(self) -> None:
        self._client: Any = None
        self._lock = threading.Lock()

    def open(self) -> None:
        """Connect to the scheduler now: BackendUnavailable (one line) when it is not given or not reachable."""
        self.client()

    def client(self) -> Any:
        with self._lock:
            if self._client is not None and self._client.status in ("running", "connecting"):
                return self._client
            address = os.environ.get(SCHEDULER_ENV)
            if not address:
                raise BackendUnavailable("the dask backend needs its scheduler: --dask-scheduler tcp://HOST:8786 "
                                         f"(or ${SCHEDULER_ENV})")
            try:
                from distributed import Client
            except ImportError:
                raise BackendUnavailable("the dask backend needs distributed: pip install 'jetnb[dask]'") from None
            try:
                self._client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
            except (OSError, TimeoutError, ValueError) as exc:
                reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise BackendUnavailable(f"cannot reach the Dask scheduler at {address}: {reason}") from None
            return self._client

    def execute(self, request: RunRequest, observer: Observer, cancel: CancelSignal) -> RunOutcome:
        """One task per attempt; a lost worker starts the run again while ``worker_lost_retries`` allow."""
        client = self.client()
        lost: WorkerLost | None = None
        for _ in range(1 + max(0, request.worker_lost_retries)):
            try:
                return _Task(client, request, observer, cancel).run()
            except WorkerLost as exc:
                lost = exc
                log.warning("run %s: %s", request.run_id, exc)
                if cancel.is_set():
                    break
        assert lost is not None
        return RunOutcome(RunStatus.FAILED, error={"type": "WorkerLost", "message": str(lost)}, worker=lost.worker)

    def close(self) -> None:
        with self._lock:
            if self._client is not None:
                self._client.close()
                self._client = None


class _Task:
    """The control plane's side of one task: secrets out, events in, cancel out, the outcome back."""

    def __init__(self, client: Any, request: RunRequest, observer: Observer, cancel: CancelSignal):
        from distributed import Queue, Variable

        self.client, self.request, self.observer, self.cancel = client, request, observer, cancel
        self.key = f"jetnb-{request.run_id}-{uuid.uuid4().hex[:8]}"
        self.events = Queue(f"{self.key}-events", client=client)
        self.secrets = Variable(f"{self.key}-secrets", client=client)
        self.stop = Variable(f"{self.key}-cancel", client=client)
        self.worker: str | None = None

    def run(self) -> RunOutcome:
        self.secrets.set(self.request.secrets.to_dict())
        future = self.client.submit(run_task, replace(self.request, secrets=RunSecrets()), self.key, key=self.key,
                                    pure=False)
        try:
            self._follow(future)
            return self._outcome(future)
        finally:
            try:
                self.secrets.delete()
                self.stop.delete()
                self.events.close()
            except Exception:  # the scheduler went away: nothing of this run is left there either
                pass
            future.release()

    def _follow(self, future: Any) -> None:
        """Apply the task's events until it ends; raise WorkerLost when its worker leaves first."""
        told, checked = False, time.monotonic()
        while True:
            self._drain(wait=EVENT_WAIT)
            if self.cancel.is_set() and not told:
                self.stop.set({"kind": (self.cancel.kind or StopKind.CANCEL).value, "reason": self.cancel.reason,
                               "grace": self.cancel.grace})
                told = True
            if future.done():
                self._drain(wait=0)
                return
            if self.worker and time.monotonic() - checked >= WORKER_CHECK:
                checked = time.monotonic()
                if self.worker not in self.client.scheduler_info().get("workers", {}) and not future.done():
                    self._lost(future)

    def _drain(self, wait: float) -> None:
        try:
            batch = [self.events.get(timeout=wait)] if wait else []
        except TimeoutError:
            return
        except Exception as exc:  # the scheduler is gone: the future says so next
            log.debug("run %s: no events: %s", self.request.run_id, exc)
            return
        batch.extend(self.events.get(batch=True))
        for message in batch:
            self._apply(message)

    def _apply(self, message: dict[str, Any]) -> None:
        if message.get("kind") == "started":
            if self.worker is not None and message.get("worker") != self.worker:
                raise WorkerLost(f"worker lost: the Dask worker {self.worker} running this run went away "
                                 "(the scheduler moved the run elsewhere)", self.worker)
            self.worker = message.get("worker")
            return
        try:
            event = from_dict(message.get("event") or {})
        except ProtocolError as exc:
            log.warning("run %s: %s; ignored", self.request.run_id, exc)
            return
        self.observer.event(event)

    def _lost(self, future: Any) -> None:
        self.client.cancel(future)
        raise WorkerLost(f"worker lost: the Dask worker {self.worker} running this run left the cluster "
                         "(killed or crashed) before the run ended", self.worker)

    def _outcome(self, future: Any) -> RunOutcome:
        from distributed.scheduler import KilledWorker

        if future.status == "finished":
            return future.result()
        if future.status == "cancelled":
            return RunOutcome(RunStatus.FAILED, error={"type": "SchedulerLost", "message": (
                "the Dask scheduler dropped the run (it stopped or restarted) before the run ended")},
                worker=self.worker)
        exc = future.exception()
        if isinstance(exc, KilledWorker):
            raise WorkerLost(f"worker lost: every Dask worker that started this run died ({exc})", self.worker)
        return RunOutcome(RunStatus.FAILED, error={"type": type(exc).__name__,
                                                   "message": f"the run's Dask task failed: {exc}"},
                          worker=self.worker)


# the worker's side ---------------------------------------------------------------------------------------


def run_task(request: RunRequest, key: str) -> RunOutcome:
    """The Dask task: claim the run's secrets, run it with the forked backend here, report events as they come."""
    from distributed import Queue, get_client

    events = Queue(f"{key}-events", client=get_client())
    try:
        return _run_here(request, key, events)
    finally:
        events.close()  # the queue goes when the control plane has closed it too


def _run_here(request: RunRequest, key: str, events: Any) -> RunOutcome:
    from distributed import Variable, get_client, get_worker

    client, worker = get_client(), get_worker()
    events.put({"kind": "started", "worker": worker.address})
    secrets = Variable(f"{key}-secrets", client=client)
    try:
        values = secrets.get(timeout=SECRETS_WAIT)
    except TimeoutError:
        return RunOutcome(RunStatus.FAILED, error={"type": "WorkerLost", "message": (
            "worker lost: this run was started again on another worker after its first one died")},
            worker=worker.address)
    secrets.delete()
    cancel = CancelSignal()
    done = threading.Event()
    watcher = threading.Thread(target=_watch_cancel, args=(Variable(f"{key}-cancel", client=client), cancel, done),
                               name=f"{key}-cancel", daemon=True)
    watcher.start()
    cwd = request.cwd if os.path.isdir(request.cwd) else tempfile.mkdtemp(prefix="jetnb-cwd-")
    try:
        request = replace(request, secrets=RunSecrets.from_dict(values), cwd=cwd,
                          context=replace(request.context, cwd=cwd))
        backend = get_backend("forked" if sys.platform.startswith("linux") else "local")
        outcome = backend.execute(request, _Forward(events), cancel)
    finally:
        done.set()
    outcome.worker = worker.address
    return outcome


def _watch_cancel(variable: Any, cancel: CancelSignal, done: threading.Event) -> None:
    while not done.is_set():
        try:
            order = variable.get(timeout=CANCEL_WAIT)
        except TimeoutError:
            continue
        except Exception:  # the client is closing with the task
            return
        cancel.grace = float(order.get("grace") or cancel.grace)
        cancel.set(StopKind(order["kind"]), order.get("reason") or "")
        return


class _Forward:
    """The task's observer: each event goes to the control plane as it happens."""

    def __init__(self, queue: Any):
        self.queue = queue

    def event(self, event: Any) -> None:
        self.queue.put({"kind": "event", "event": to_dict(event)})
