"""Where widget runs go: the ``Client`` interface the widgets talk to, and ``LocalClient`` for the local store.

The widgets only start runs, read them back and decide approval requests
through a client, so ``ServerClient`` (for ``jetnb serve``) takes the place of
``LocalClient`` without any widget changing.
"""

from __future__ import annotations

import threading
import time
import traceback
from pathlib import Path
from typing import Any, Protocol

from ..service.runner import DEFAULT_RUNS_DIR, ResumeError, drive, enqueue, prepare, resume
from ..store import RunNotFound, Store, default_store_path, public_approval, public_run
from ..model.workflow import Workflow


class Client(Protocol):
    def start_run(self, workflow_path: str | Path, params: dict[str, Any] | None = None, trigger: str = "widget",
                  trigger_detail: dict[str, Any] | None = None) -> str:
        """Validate and accept a run, returning its id at once; raises WorkflowError or ParameterError instead."""
        ...

    def get_run(self, run_id: str) -> dict[str, Any]:
        """The run record with its steps, as ``jetnb show --json`` prints it."""
        ...

    def list_runs(self, workflow: str, limit: int = 20) -> list[dict[str, Any]]:
        """A workflow's most recent runs, newest first, without steps."""
        ...

    def list_approvals(self, user: str, pending_only: bool = True) -> list[dict[str, Any]]:
        """Approval requests ``user`` may decide, newest first, with ISO times (as ``GET /api/approvals``)."""
        ...

    def decide(self, approval_id: int, user: str, approve: bool, comment: str | None = None) -> dict[str, Any]:
        """Record a decision and have the run resume without waiting for it; raises ApprovalError when refused."""
        ...


class LocalClient:
    """Runs recorded in the local SQLite store and executed in this process, each in a background thread.

    Runs of one workflow share ``concurrency`` slots (from its ``%%workflow``
    cell, default 1) across every widget of this process; a run waiting for a
    slot stays ``queued``.
    """

    def __init__(self, store: str | Path | None = None, runs_dir: str | Path | None = None):
        self.store_path = Path(store or default_store_path()).resolve()
        self.runs_dir = Path(runs_dir or DEFAULT_RUNS_DIR).resolve()
        self._reader: Store | None = None
        self._read_lock = threading.Lock()

    def start_run(self, workflow_path: str | Path, params: dict[str, Any] | None = None, trigger: str = "widget",
                  trigger_detail: dict[str, Any] | None = None) -> str:
        workflow, values = prepare(workflow_path, params)
        store = Store(self.store_path)  # the run's own connection: SQLite transactions do not mix across threads
        run_id = enqueue(store, workflow, values, runs_dir=self.runs_dir, trigger=trigger, trigger_detail=trigger_detail)
        threading.Thread(target=self._execute, args=(store, run_id, workflow, values),
                         name=f"jetnb-run-{run_id}", daemon=True).start()
        return run_id

    def get_run(self, run_id: str) -> dict[str, Any]:
        with self._read_lock:
            return public_run(self._store().get_run(run_id))

    def list_runs(self, workflow: str, limit: int = 20) -> list[dict[str, Any]]:
        with self._read_lock:
            store = self._store()
            store.reap_orphans()
            return [public_run(r) for r in store.list_runs(workflow=workflow, limit=limit)]

    def list_approvals(self, user: str, pending_only: bool = True) -> list[dict[str, Any]]:
        with self._read_lock:
            return [public_approval(a) for a in self._store().list_approvals(user=user, pending_only=pending_only)]

    def decide(self, approval_id: int, user: str, approve: bool, comment: str | None = None) -> dict[str, Any]:
        with self._read_lock:
            decided = self._store().decide(approval_id, user, approve, comment)
        threading.Thread(target=self._resume, args=(decided["run_id"],), name=f"jetnb-resume-{decided['run_id']}",
                         daemon=True).start()
        return public_approval(decided)

    def _store(self) -> Store:
        if self._reader is None:
            self._reader = Store(self.store_path)
        return self._reader

    def _execute(self, store: Store, run_id: str, workflow: Workflow, values: dict[str, Any]) -> None:
        try:
            with _slots(self.store_path, workflow):
                drive(store, run_id, workflow, values, progress=None, backend="local")
        except BaseException as exc:  # a recorded run must end with a final status, or its watchers wait forever
            _record_failure(store, run_id, exc)
        finally:
            store.close()

    def _resume(self, run_id: str) -> None:
        """Resume a decided run here, once it has finished suspending; a run in no state to resume is left alone.

        The request may be decided while its run is still suspending (the gate
        recorded it, the kernel is shutting down), so this waits, bounded, for
        the run to settle first. A run that is not ``waiting`` then (an
        interactive run, or one another process resumed first) is not ours.
        """
        store = Store(self.store_path)
        try:
            deadline = time.monotonic() + SUSPEND_SECONDS
            run = store.get_run(run_id, with_steps=False)
            while run["status"] in ("queued", "running") and time.monotonic() < deadline:
                time.sleep(0.25)
                run = store.get_run(run_id, with_steps=False)
            if run["status"] != "waiting":
                return
            workflow = Workflow.load(run["notebook"])
            with _slots(self.store_path, workflow):
                resume(store, run_id, progress=None, backend="local")
        except (RunNotFound, ResumeError):
            return
        except BaseException as exc:  # as for a new run: a resumed run must end
            _record_failure(store, run_id, exc)
        finally:
            store.close()


SUSPEND_SECONDS = 60  # how long a decided run may take to finish suspending before LocalClient resumes it


def _record_failure(store: Store, run_id: str, exc: BaseException) -> None:
    store.update_run(run_id, status="failed", finished_at=time.time(),
                     error={"type": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()})


_SLOTS: dict[tuple[Path, str], threading.Semaphore] = {}
_SLOTS_LOCK = threading.Lock()


def _slots(store_path: Path, workflow: Workflow) -> threading.Semaphore:
    """The semaphore bounding this process's concurrent runs of one workflow in one store."""
    with _SLOTS_LOCK:
        key = (store_path, workflow.name)
        if key not in _SLOTS:
            _SLOTS[key] = threading.Semaphore(workflow.config.values.get("concurrency") or 1)
        return _SLOTS[key]
