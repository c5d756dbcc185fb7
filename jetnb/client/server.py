"""``ServerClient``: the widgets' ``Client`` over the REST API of ``jetnb serve``.

The server records and executes the runs (trigger ``api``) and resumes a run
as soon as its request is decided; the widgets only poll it, as they poll
the local store through ``LocalClient``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

import requests

from ..model.params import ParameterError
from ..store import ApprovalError, RunStateError
from ..model.workflow import Workflow

TIMEOUT = 30  # seconds for any one request: the API answers at once, runs execute in the background


class ServerError(RuntimeError):
    """The server refused a request or could not be reached; the message says which and why."""


class ServerClient:
    """Runs started, read and decided through ``jetnb serve`` at ``url``; ``token`` defaults to ``$JETNB_TOKEN``."""

    def __init__(self, url: str, token: str | None = None, timeout: float = TIMEOUT):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token or os.environ.get('JETNB_TOKEN', '')}"

    def start_run(self, workflow_path: str | Path, params: dict[str, Any] | None = None, trigger: str = "widget",
                  trigger_detail: dict[str, Any] | None = None) -> str:
        """Start a run of a served workflow, given its notebook or its name; the server records it as ``api``."""
        body = json.loads(json.dumps({"params": params or {}}, default=str))  # dates and the like travel as text
        return self._call("POST", f"/api/workflows/{quote(workflow_name(workflow_path), safe='')}/runs", body)["run_id"]

    def get_run(self, run_id: str) -> dict[str, Any]:
        return self._call("GET", f"/api/runs/{quote(run_id, safe='')}")

    def list_runs(self, workflow: str, limit: int = 20) -> list[dict[str, Any]]:
        return self._call("GET", "/api/runs", params={"workflow": workflow, "limit": limit})["runs"]

    def cancel_run(self, run_id: str, reason: str | None = None) -> dict[str, Any]:
        return self._call("POST", f"/api/runs/{quote(run_id, safe='')}/cancel", {"reason": reason})

    def list_approvals(self, user: str, pending_only: bool = True) -> list[dict[str, Any]]:
        query = {"for": user, **({} if pending_only else {"all": "1"})}
        return self._call("GET", "/api/approvals", params=query)["approvals"]

    def decide(self, approval_id: int, user: str, approve: bool, comment: str | None = None) -> dict[str, Any]:
        verb = "approve" if approve else "reject"
        return self._call("POST", f"/api/approvals/{int(approval_id)}/{verb}", {"as": user, "comment": comment})

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None) -> Any:
        """One request; an answer other than 2xx becomes the exception a local call would raise."""
        try:
            response = self.session.request(method, self.url + path, json=body, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ServerError(f"cannot reach jetnb serve at {self.url}: {exc}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = {"error": response.text[:200]}
        if response.ok:
            return answer
        error = answer.get("error", response.reason) if isinstance(answer, dict) else response.reason
        if response.status_code == 401:
            raise ServerError(f"wrong token for jetnb serve at {self.url}")
        if response.status_code == 422:
            raise ParameterError(answer.get("problems") or [error])
        if response.status_code == 403:
            raise ApprovalError(error)
        if response.status_code == 404:
            raise LookupError(error)
        if response.status_code == 409:
            raise RunStateError(error)
        raise ServerError(f"{method} {path}: {response.status_code} {error}")


def workflow_name(workflow: str | Path) -> str:
    """The served name of a workflow given as a notebook path, or the name itself."""
    path = Path(workflow)
    return Workflow.load(path).name if path.suffix == ".ipynb" or path.exists() else str(workflow)
