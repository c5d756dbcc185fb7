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

    def list_approvals(self, user: str, pending_only: bool = True) -> list[dict[str, Any]]:
        """Approval requests ``user`` may decide, newest first, with ISO times (as ``GET /api/approvals``)."""
        ...

    def decide(self, approval_id: int, user: str, approve: bool, comment: str | None = None) -> dict[str, Any]:
        """Record a decision and have the run resume without waiting for it; raises ApprovalError when refused."""
        ...
