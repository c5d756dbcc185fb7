"""``LocalClient``: runs recorded in the local SQLite store and executed in this process, each in a background
thread, through the run service (``Threads`` strategy)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from .. import artifact_files as files
from ..runfiles import artifacts_dir
from ..service import artifacts

from ..service.request import prepare
from ..protocol import Principal
from ..service.identity import local_principal
from ..service.runs import RunService
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
                 backend: str = "forked", token: str | None = None):
        """``token``: a personal token to act as its user (else ``$JETNB_USER_TOKEN``, else the OS account)."""
        self.store_path = Path(store or default_store_path()).resolve()
        self.runs_dir = Path(runs_dir or DEFAULT_RUNS_DIR).resolve()
        self.service = RunService(Database(self.store_path), runs_dir=self.runs_dir, strategy=Threads(),
                                  backend=backend)
        self.token = token
        self._principal: Principal | None = None

    @property
    def principal(self) -> Principal:
        if self._principal is None:
            self._principal = local_principal(self.service.store(), self.token)
        return self._principal

    @property
    def user(self) -> str:
        return self.principal.name

    def start_run(self, workflow_path: str | Path, params: dict[str, Any] | None = None, trigger: str = "widget",
                  trigger_detail: dict[str, Any] | None = None) -> str:
        workflow, values = prepare(workflow_path, params)
        return self.service.submit(workflow, values, trigger=trigger, started_by=self.user,
                                   detail=trigger_detail)

    def get_run(self, run_id: str) -> dict[str, Any]:
        return public_run(self.service.store().get_run(run_id))

    def list_runs(self, workflow: str, limit: int = 20) -> list[dict[str, Any]]:
        self.service.recover()
        return [public_run(r) for r in self.service.store().list_runs(workflow=workflow, limit=limit)]

    def cancel_run(self, run_id: str, reason: str | None = None) -> dict[str, Any]:
        return public_run(self.service.cancel(run_id, by=self.user, reason=reason))

    def list_artifacts(self, run_id: str) -> list[dict[str, Any]]:
        return public_run(self.service.store().get_run(run_id))["artifacts"]

    def download_artifact(self, run_id: str, name: str, destination: str | Path | None = None) -> Path:
        found = artifacts.find(self.service.store(), run_id, name)
        target = Path(destination or ".")
        target = target / found.name if target.is_dir() else target
        files.save_to(found.directory, found.name, target)
        return target

    def artifact_link(self, run_id: str, name: str) -> str:
        """The file's path relative to the kernel's folder, which JupyterLab opens (or downloads) on a click."""
        run = self.service.store().get_run(run_id, with_steps=False)
        return quote(os.path.relpath(Path(artifacts_dir(run["log_path"])) / name))

    def list_approvals(self, pending_only: bool = True) -> list[dict[str, Any]]:
        found = self.service.store().list_approvals(user=self.user, groups=self.principal.groups,
                                                    pending_only=pending_only)
        return [public_approval(a) for a in found]

    def get_approval(self, approval_id: int) -> dict[str, Any]:
        return self.service.store().get_approval(approval_id)

    def decide(self, approval_id: int, approve: bool, comment: str | None = None) -> dict[str, Any]:
        return public_approval(self.service.decide(approval_id, self.principal, approve, comment))

    def request_approval(self, request: Any, *, run_id: str, workflow: str, trigger: str,
                         started_by: str | None = None) -> dict[str, Any]:
        """An interactive gate (a person running the notebook cell by cell) asks here; the cell then waits."""
        return self.service.store().request_approval(
            run_id=run_id, workflow=workflow, step=request.step, approvers=request.approvers,
            message=request.message, details=request.details, on_timeout=request.on_timeout,
            allow_self=request.allow_self, started_by=started_by or self.user, trigger=trigger,
            timeout=request.timeout, groups=request.groups)
