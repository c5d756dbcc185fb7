"""The ``Client`` protocol every widget talks to."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol


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

    def cancel_run(self, run_id: str, reason: str | None = None) -> dict[str, Any]:
        """Cancel a queued, running or waiting run; raises RunStateError for one that has ended."""
        ...

    def list_artifacts(self, run_id: str) -> list[dict[str, Any]]:
        """The files the run kept with ``jetnb.artifact``, in the order saved (as ``GET /api/runs/<id>/artifacts``)."""
        ...

    def download_artifact(self, run_id: str, name: str, destination: str | Path | None = None) -> Path:
        """Save the artifact ``name`` to ``destination`` (a file, or a folder to put it in; default: the current
        folder) and return where it went; LookupError when the run or the artifact does not exist."""
        ...

    def artifact_link(self, run_id: str, name: str) -> str:
        """A URL a person can click in JupyterLab to get the artifact (a file link, or the server's page)."""
        ...

    @property
    def user(self) -> str:
        """Who this client acts as: its personal token's user, or the OS account (local store, no token)."""
        ...

    def list_approvals(self, pending_only: bool = True) -> list[dict[str, Any]]:
        """Approval requests the client's user may decide, newest first, with ISO times (as ``GET /api/approvals``)."""
        ...

    def decide(self, approval_id: int, approve: bool, comment: str | None = None) -> dict[str, Any]:
        """Decide as the client's user and have the run resume without waiting; raises ApprovalError when refused."""
        ...
