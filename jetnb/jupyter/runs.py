"""Runs started from the sidebar: recorded in the Lab's store, executed in threads of the Jupyter server.

This is the widgets' ``LocalClient`` pattern (validate, record as ``queued``,
then ``runner.drive`` in a daemon thread within the workflow's
``concurrency``), with the Jupyter user as the run's starter so approval rules
see who clicked. The run service that is being built will take this over.

Who resumes a decided run: a ``jetnb serve`` holding the store resumes every
decided waiting run within a second (``control/approvals.resume_decided``),
so the Lab resumes one itself only when no server holds the store; two
resumers would run the rest of the notebook twice.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..model.workflow import Workflow
from ..service.runner import RESUMABLE, ResumeError, drive, enqueue, prepare, resume
from ..store import RunNotFound, Store, public_run

TRIGGER = "lab"
SETTLE_SECONDS = 60  # how long a run that is still suspending (or still queued) may take before it is resumed
RUN_FIELDS = ("id", "workflow", "status", "trigger", "params", "result", "error", "created_at", "started_at",
              "finished_at", "duration", "started_by", "rerun_of")
STEP_FIELDS = ("seq", "name", "kind", "status", "started_at", "finished_at", "duration", "error")


class LabRuns:
    def __init__(self, store_path: Path, runs_dir: Path):
        self.store_path = store_path
        self.runs_dir = runs_dir
        self._slots: dict[str, threading.Semaphore] = {}
        self._slots_lock = threading.Lock()

    def start(self, store: Store, notebook: Path, params: dict[str, Any], *, user: str) -> str:
        """Validate (WorkflowError, ParameterError: nothing recorded), record, and execute in the background."""
        workflow, values = prepare(notebook, params)
        run_id = enqueue(store, workflow, values, runs_dir=self.runs_dir, trigger=TRIGGER, started_by=user)
        self._background(run_id, self._drive, run_id, workflow, values)
        return run_id

    def rerun(self, store: Store, ref: str, *, user: str) -> str:
        """A new run of the same notebook with the same parameters (as ``jetnb rerun``), checked against the notebook as it is now."""
        old = store.get_run(ref, with_steps=False)
        workflow, values = prepare(old["notebook"], old["params"])
        run_id = enqueue(store, workflow, values, runs_dir=self.runs_dir, trigger="rerun", rerun_of=old["id"],
                         started_by=user)
        self._background(run_id, self._drive, run_id, workflow, values)
        return run_id

    def resume(self, store: Store, ref: str, *, served: bool) -> str:
        """Continue a waiting, failed or interrupted run where it stopped (ResumeError when it cannot be, now)."""
        run = store.get_run(ref, with_steps=False)
        if run["status"] not in RESUMABLE:
            raise ResumeError(f"run {run['id']} is {run['status']}; only {', '.join(RESUMABLE)} runs can be resumed")
        pending = [a for a in store.list_approvals() if a["run_id"] == run["id"]]
        if pending:
            raise ResumeError(f"run {run['id']} is still waiting for approval request {pending[0]['id']} "
                              f"(approvers: {', '.join(pending[0]['approvers'])})")
        if not (served and run["status"] == "waiting"):
            self._background(run["id"], self._resume, run["id"])
        return run["id"]

    def after_decision(self, run_id: str, *, served: bool) -> None:
        """Resume a run whose gate was just decided, unless ``jetnb serve`` holds the store and so resumes it itself."""
        if not served:
            self._background(run_id, self._resume, run_id)

    # background threads ---------------------------------------------------

    def _background(self, run_id: str, target: Callable[..., None], *args: Any) -> None:
        threading.Thread(target=target, args=args, name=f"jetnb-lab-run-{run_id}", daemon=True).start()

    def _slot(self, workflow: Workflow) -> threading.Semaphore:
        with self._slots_lock:
            if workflow.name not in self._slots:
                self._slots[workflow.name] = threading.Semaphore(workflow.config.values.get("concurrency") or 1)
            return self._slots[workflow.name]

    def _drive(self, run_id: str, workflow: Workflow, values: dict[str, Any]) -> None:
        store = Store(self.store_path)  # the thread's own connection: SQLite transactions do not cross threads
        try:
            with self._slot(workflow):
                drive(store, run_id, workflow, values, progress=None, backend="local")
        except BaseException as exc:  # a recorded run must end with a final status, or the sidebar follows it forever
            _record_failure(store, run_id, exc)
        finally:
            store.close()

    def _resume(self, run_id: str) -> None:
        """Wait (bounded) for a run that is still suspending to settle, then resume it; a run another process took is left alone."""
        store = Store(self.store_path)
        try:
            deadline = time.monotonic() + SETTLE_SECONDS
            run = store.get_run(run_id, with_steps=False)
            while run["status"] in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(0.25)
                run = store.get_run(run_id, with_steps=False)
            if run["status"] not in RESUMABLE:
                return
            with self._slot(Workflow.load(run["notebook"])):
                resume(store, run_id, progress=None, backend="local")
        except (RunNotFound, ResumeError):
            return
        except BaseException as exc:
            _record_failure(store, run_id, exc)
        finally:
            store.close()


def _record_failure(store: Store, run_id: str, exc: BaseException) -> None:
    store.update_run(run_id, status="failed", finished_at=time.time(),
                     error={"type": type(exc).__name__, "message": str(exc)})


def run_view(run: dict[str, Any]) -> dict[str, Any]:
    """A run as the sidebar shows it (ISO times; errors as type and message, tracebacks stay in the run log)."""
    public = public_run(run)
    view = {key: public.get(key) for key in RUN_FIELDS}
    view["error"] = _error(public.get("error"))
    if "steps" in public:
        view["steps"] = [{**{key: step.get(key) for key in STEP_FIELDS}, "error": _error(step.get("error"))}
                         for step in public["steps"]]
    return view


def _error(error: Any) -> dict[str, Any] | None:
    if not error:
        return None
    if not isinstance(error, dict):
        return {"type": "Error", "message": str(error)}
    return {"type": error.get("type") or "Error", "message": str(error.get("message") or "")}
