"""The control plane: the served workflows, the store connections, the run queue and the audit log, in one object.

Every trigger ends here: ``validate`` (the one parameter validator),
``enqueue`` (a durable ``queued`` run, inside the caller's transaction when it
has one) and the dispatcher. What the server does is logged to stderr and
written to the store's audit log by ``note``.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import Any, Callable

from ..model.params import coerce_params
from ..executor import close_backends, get_backend
from ..service.runner import enqueue, execute_queued, resume
from ..store import Store
from ..clock import Clock
from .catalog import Catalog
from ..model.workflow import Workflow
from .dispatcher import Dispatcher, Job
from .pausing import after_run

log = logging.getLogger("jetnb.serve")
ACTOR = "jetnb serve"


class ControlPlane:
    def __init__(self, directory: Path, *, store_path: Path, runs_dir: Path, max_runs: int, clock: Clock,
                 backend: str = "local"):
        self.directory = Path(directory)
        self.store_path = Path(store_path)
        self.runs_dir = Path(runs_dir).resolve()
        self.clock = clock
        self.backend = backend
        self.catalog = Catalog(self.directory, exclude=(self.runs_dir,))
        self.dispatcher = Dispatcher(max_runs, self._execute, self._finished)
        self._local = threading.local()
        self._stores: list[Store] = []
        self._stores_lock = threading.Lock()
        self._resuming: set[str] = set()

    # store and audit ----------------------------------------------------

    def store(self, *, durable: bool = True) -> Store:
        """This thread's connection. Threads that acknowledge work get ``durable`` commits; run workers need not."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.store_path, durable=durable)
            with self._stores_lock:
                self._stores.append(store)
        return store

    def note(self, kind: str, message: str, *, workflow: str | None = None, level: int = logging.INFO,
             **detail: Any) -> None:
        """One log line on stderr and one audit entry (``workflow.<kind>`` or ``server.<kind>``) in the store."""
        log.log(level, "%s: %s", kind, message)
        subject = f"workflow:{workflow}" if workflow else "server"
        self.store().audit(ACTOR, f"{subject.partition(':')[0]}.{kind}", subject, {"message": message, **detail})

    # lifecycle ------------------------------------------------------------

    def start(self) -> None:
        """Recover what a previous server left, register the notebooks, start the run workers."""
        store = self.store()
        reaped = store.reap_orphans()
        if reaped:
            self.note("recover", f"{reaped} run(s) left running by a process that is gone were marked interrupted")
        self.sync()
        for run_id in store.claim_queued():
            run = store.get_run(run_id, with_steps=False)
            self.note("recover", f"picking up run {run_id} of {run['workflow']} ({run['trigger']}), queued before "
                      "the last stop", workflow=run["workflow"], run_id=run_id)
            served = self.catalog.get(run["workflow"])
            self.dispatcher.submit(Job(run_id, run["workflow"], served.config["concurrency"] if served else 1))
        get_backend(self.backend)  # a kernel pool starts filling now, before the first trigger fires
        self.dispatcher.start()

    def shutdown(self, grace: float, hurry: threading.Event) -> None:
        interrupted = self.dispatcher.shutdown(grace, hurry)
        for run_id in interrupted:
            self.note("interrupt", f"run {run_id} interrupted: the server stopped", run_id=run_id)

    def close(self) -> None:
        """Close every thread's store connection and release pre-started kernels; the last thing the server does."""
        close_backends()
        with self._stores_lock:
            for store in self._stores:
                store.close()
            self._stores.clear()

    def sync(self) -> None:
        """Re-read the folder and bring the store's workflows and triggers in line with it."""
        result = self.catalog.scan()
        for problem in result.problems:
            self.note("problem", problem, level=logging.WARNING)
        store = self.store()
        for served in [*result.added, *result.changed]:
            store.register_workflow(served.name, str(served.path), served.digest, served.config,
                                    [(t.key, t.kind.name, t.spec) for t in served.triggers], now=self.clock.now())
            verb = "serving" if served in result.added else "reloaded"
            kinds = ", ".join(t.kind.name for t in served.triggers) or "no triggers"
            self.note("register", f"{verb} {served.name} ({served.path}): {kinds}", workflow=served.name)
        for name in result.removed:
            store.remove_workflow(name, now=self.clock.now())
        self.catalog.adopt(result)  # only now do handlers and loops see the workflows, already in the store
        for name in result.removed:
            self.note("unregister", f"{name} is gone from {self.directory}: its triggers stopped", workflow=name)

    # starting runs --------------------------------------------------------

    @staticmethod
    def validate(workflow: Workflow, params: dict[str, Any]) -> dict[str, Any]:
        """The one validator (``coerce_params``); raises ParameterError naming each bad parameter."""
        return coerce_params(workflow.parameters, params)

    def enqueue(self, store: Store, workflow: Workflow, values: dict[str, Any], *, trigger: str,
                detail: dict[str, Any] | None = None, serial: bool = False) -> Job:
        """Record validated values as a queued run (joins the caller's transaction); submit the job after commit."""
        run_id = enqueue(store, workflow, values, runs_dir=self.runs_dir, trigger=trigger, trigger_detail=detail)
        return Job(run_id, workflow.name, workflow.config.values.get("concurrency") or 1, serial)

    def launch(self, workflow: Workflow, params: dict[str, Any], *, trigger: str, detail: dict[str, Any] | None = None,
               serial: bool = False, also: Callable[[Store, str], None] | None = None) -> str:
        """Validate, record the run (and ``also``'s rows) in one transaction, then queue it; returns the run id."""
        values = self.validate(workflow, params)
        store = self.store()
        with store.transaction():
            job = self.enqueue(store, workflow, values, trigger=trigger, detail=detail, serial=serial)
            if also is not None:
                also(store, job.run_id)
        self.dispatcher.submit(job)
        return job.run_id

    def is_paused(self, name: str) -> bool:
        return self.store().workflow_state(name)["paused"]

    def set_paused(self, name: str, paused: bool, reason: str) -> bool:
        """Pause or resume by hand (API); automatic pauses are ``pausing.after_run``'s."""
        changed = self.store().set_paused(name, paused, reason, now=self.clock.now())
        if changed:
            verb = "paused" if paused else "resumed"
            self.note("pause" if paused else "resume", f"{name} {verb}: {reason}", workflow=name)
        return changed

    # run workers ----------------------------------------------------------

    def resume(self, run_id: str) -> bool:
        """Queue a decided waiting run to resume here; False when it is already queued or not waiting."""
        store = self.store()
        run = store.get_run(run_id, with_steps=False)
        with self._stores_lock:
            if run["status"] != "waiting" or run_id in self._resuming:
                return False
            self._resuming.add(run_id)
        self.note("resume", f"resuming run {run_id} of {run['workflow']}: its approval was decided",
                  workflow=run["workflow"], run_id=run_id)
        served = self.catalog.get(run["workflow"])
        self.dispatcher.submit(Job(run_id, run["workflow"], served.config["concurrency"] if served else 1))
        return True

    def _execute(self, run_id: str) -> None:
        with self._stores_lock:
            resuming = run_id in self._resuming
        try:
            if resuming:
                resume(self.store(durable=False), run_id, backend=self.backend)
            else:
                execute_queued(self.store(durable=False), run_id, backend=self.backend)
        finally:
            with self._stores_lock:
                self._resuming.discard(run_id)

    def _finished(self, run_id: str) -> str:
        store = self.store(durable=False)
        run = store.get_run(run_id, with_steps=False)
        if run["status"] in ("queued", "running"):  # cut off; a 'waiting' run (an approval gate) is not
            with store.transaction():
                store.update_run(run_id, status="interrupted", finished_at=time.time(),
                                 error={"type": "Interrupted", "message": "the server stopped before the run ended"})
                store.close_steps(run_id)
            run = store.get_run(run_id, with_steps=False)
        log.info("run: %s of %s %s", run_id, run["workflow"], run["status"])
        after_run(self, store, run)
        return run["status"]
