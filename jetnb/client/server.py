"""``ServerClient``: the widgets' ``Client`` over the REST API of ``jetnb serve``.

The server records and executes the runs (trigger ``api``) and resumes a run
as soon as its request is decided; the widgets only poll it, as they poll
the local store through ``LocalClient``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote

import requests

from ..files import write_atomic_chunks
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
        self._user: str | None = None

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

    def list_artifacts(self, run_id: str) -> list[dict[str, Any]]:
        return self._call("GET", f"/api/runs/{quote(run_id, safe='')}/artifacts")["artifacts"]

    def download_artifact(self, run_id: str, name: str, destination: str | Path | None = None) -> Path:
        """Streamed to a temporary file beside ``destination``, renamed once complete."""
        path = f"/api/runs/{quote(run_id, safe='')}/artifacts/{quote(name, safe='')}"
        try:
            response = self.session.get(self.url + path, stream=True, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ServerError(f"cannot reach jetnb serve at {self.url}: {exc}") from exc
        with response:
            if not response.ok:
                self._refused(response, "GET", path)
            target = Path(destination or ".")
            target = target / name if target.is_dir() else target
            write_atomic_chunks(response.iter_content(1024 * 1024), target)
        return target

    def artifact_link(self, run_id: str, name: str) -> str:
        """The server's page for it: a browser signed in to ``jetnb serve`` downloads it with its session."""
        return f"{self.url}/ui/runs/{quote(run_id, safe='')}/artifacts/{quote(name, safe='')}"

    @property
    def user(self) -> str:
        """The token's user, as the server says (asked once)."""
        if self._user is None:
            self._user = self._call("GET", "/api/whoami")["user"]
        return self._user

    def list_approvals(self, pending_only: bool = True) -> list[dict[str, Any]]:
        query = {"for": "me", **({} if pending_only else {"all": "1"})}
        return self._call("GET", "/api/approvals", params=query)["approvals"]

    def decide(self, approval_id: int, approve: bool, comment: str | None = None) -> dict[str, Any]:
        """Decided by the server as the token's user."""
        verb = "approve" if approve else "reject"
        return self._call("POST", f"/api/approvals/{int(approval_id)}/{verb}", {"comment": comment})

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None,
              params: dict[str, Any] | None = None) -> Any:
        """One request; an answer other than 2xx becomes the exception a local call would raise."""
        try:
            response = self.session.request(method, self.url + path, json=body, params=params, timeout=self.timeout)
        except requests.RequestException as exc:
            raise ServerError(f"cannot reach jetnb serve at {self.url}: {exc}") from exc
        if response.ok:
            try:
                return response.json()
            except ValueError:
                raise ServerError(f"{method} {path}: the answer is not JSON") from None
        self._refused(response, method, path)

    def _refused(self, response: requests.Response, method: str, path: str) -> NoReturn:
        """The exception a local call would raise for this refusal."""
        try:
            answer = response.json()
        except ValueError:
            answer = {"error": response.text[:200]}
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
