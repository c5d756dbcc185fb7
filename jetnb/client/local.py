"""``LocalClient``: runs recorded in the local SQLite store and executed in this process, each in a background
thread, through the run service (``Threads`` strategy)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..service.request import prepare
from ..service.runs import RunService, current_user
from ..service.strategies import Threads
from ..store import Database, default_store_path, public_approval, public_run

DEFAULT_RUNS_DIR = "runs"


class LocalClient:
    """The store and runs folder default to the ones ``jetnb run`` would use from the current folder.

    Runs wait for a free slot under their workflow's ``concurrency`` like any
    other run on the same store (a server's, another notebook's); a run
    waiting for a slot stays ``queued``.
    """

    def __init__(self, store: str | Path | None = None, runs_dir: str | Path | None = None,
                 backend: str = "forked"):
        self.store_path = Path(store or default_store_path()).resolve()
        self.runs_dir = Path(runs_dir or DEFAULT_RUNS_DIR).resolve()
        self.service = RunService(Database(self.store_path), runs_dir=self.runs_dir, strategy=Threads(),
                                  backend=backend)

    def start_run(self, workflow_path: str | Path, params: dict[str, Any] | None = None, trigger: str = "widget",
                  trigger_detail: dict[str, Any] | None = None) -> str:
        workflow, values = prepare(workflow_path, params)
        return self.service.submit(workflow, values, trigger=trigger, started_by=current_user(),
                                   detail=trigger_detail)

    def get_run(self, run_id: str) -> dict[str, Any]:
        return public_run(self.service.store().get_run(run_id))

    def list_runs(self, workflow: str, limit: int = 20) -> list[dict[str, Any]]:
        self.service.recover()
        return [public_run(r) for r in self.service.store().list_runs(workflow=workflow, limit=limit)]

    def cancel_run(self, run_id: str, reason: str | None = None) -> dict[str, Any]:
        return public_run(self.service.cancel(run_id, by=current_user(), reason=reason))

    def list_approvals(self, user: str, pending_only: bool = True) -> list[dict[str, Any]]:
        return [public_approval(a) for a in self.service.store().list_approvals(user=user, pending_only=pending_only)]

    def get_approval(self, approval_id: int) -> dict[str, Any]:
        return self.service.store().get_approval(approval_id)

    def decide(self, approval_id: int, user: str, approve: bool, comment: str | None = None) -> dict[str, Any]:
        return public_approval(self.service.decide(approval_id, user, approve, comment))

    def request_approval(self, request: Any, *, run_id: str, workflow: str, trigger: str,
                         started_by: str | None = None) -> dict[str, Any]:
        """An interactive gate (a person running the notebook cell by cell) asks here; the cell then waits."""
        return self.service.store().request_approval(
            run_id=run_id, workflow=workflow, step=request.step, approvers=request.approvers,
            message=request.message, details=request.details, on_timeout=request.on_timeout,
            allow_self=request.allow_self, started_by=started_by or current_user(), trigger=trigger,
            timeout=request.timeout, groups=request.groups)
