"""The REST API (docs/api.md): workflows with their triggers and state, runs (start, cancel, rerun, resume), run
logs and artifacts, approvals, pause and unpause.

Handlers do HTTP only: parse, call the run service or the store, answer.
Every endpoint but ``/api/health`` and ``/api/openapi.json`` (described in ``openapi.py``) needs a caller: in
``jetnb serve`` a personal token (``jetnb users add``) or the server's token, as
``Authorization: Bearer <token>`` or ``?token=<token>``; inside JupyterLab the
Jupyter user (``callers.py`` says who; the handlers act as that principal).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from .. import __version__
from ..model.params import ParameterError, typed
from ..model.workflow import Workflow, WorkflowError
from ..protocol import Principal
from ..service import artifacts
from ..service.identity import IdentityError, check_claim
from ..service.runs import ResumeError, RunsFolderError
from ..store import ApprovalError, RunNotFound, RunStateError, WorkflowNotFound, public_approval, public_run
from ..control.catalog import ServedWorkflow
from . import downloads, openapi
from .base import BadBody, JsonHandler, json_object
from .handoff import committed
from .runs import BadQuery, NoRunLog, run_log, runs_page
from .views import workflow_view


class ApiHandler(JsonHandler):
    principal: Principal

    def prepare(self) -> None:
        principal = self.callers.api_caller(self, self.plane.store())
        if principal is None:
            return self.callers.nobody(self, page=False)
        self.principal = principal

    @property
    def user(self) -> str:
        """Who the caller is, for ``started_by`` and the audit log."""
        return self.principal.name

    def served(self, name: str) -> ServedWorkflow | None:
        served = self.plane.catalog.get(name)
        if served is None:
            self.refuse(404, f"no workflow {name!r} is served")
        return served

    def body(self) -> dict[str, Any] | None:
        """The JSON object body, or None after answering 400."""
        try:
            return json_object(self.request.body)
        except BadBody as exc:
            self.refuse(400, str(exc))
            return None

    def refuse_params(self, exc: ParameterError, workflow: Any) -> None:
        self.refuse(422, "bad parameters", problems=exc.problems, fields=exc.fields)


class WhoAmI(ApiHandler):
    def get(self) -> None:
        self.answer(200, {"user": self.principal.name, "groups": list(self.principal.groups),
                          "admin": self.principal.admin})


class OpenApi(JsonHandler):
    """``GET /api/openapi.json``: this API described (``openapi.py``); no token, like ``/api/health``."""

    def get(self) -> None:
        self.answer(200, openapi.document())


class Health(JsonHandler):
    def get(self) -> None:
        catalog = self.plane.catalog
        self.answer(200, {"status": "ok", "version": __version__, "workflows": len(catalog.served),
                          "notebooks": catalog.found, "pending": catalog.pending})


class Workflows(ApiHandler):
    def get(self) -> None:
        served = sorted(self.plane.catalog.served.values(), key=lambda s: s.name)
        self.answer(200, {"workflows": [workflow_view(self.plane, s) for s in served]})


class WorkflowDetail(ApiHandler):
    def get(self, name: str) -> None:
        if served := self.served(name):
            self.answer(200, workflow_view(self.plane, served, full=True))


class WorkflowRuns(ApiHandler):
    async def post(self, name: str) -> None:
        served = self.served(name)
        body = self.body() if served else None
        if body is None:
            return
        params = body.get("params") or {}
        if not isinstance(params, dict):
            return self.refuse(400, f"params: expected a JSON object, got {type(params).__name__}")
        try:
            run_id = await committed(self.plane.accept(served.workflow, typed(params), trigger="api",
                                                                 started_by=self.user))
        except ParameterError as exc:
            return self.refuse_params(exc, served.workflow)
        except RunsFolderError as exc:
            return self.refuse(503, str(exc))
        self.answer(202, {"run_id": run_id, "status": "queued", "url": self.link(f"/api/runs/{run_id}")})


class PauseUnpause(ApiHandler):
    def post(self, name: str, action: str) -> None:
        served = self.served(name)
        body = self.body() if served else None
        if body is None:
            return
        reason = body.get("reason") or f"{action}d through the API"
        try:
            self.plane.set_paused(served.name, action == "pause", str(reason), by=self.user)
        except WorkflowNotFound as exc:
            return self.refuse(409, str(exc))
        self.answer(200, workflow_view(self.plane, served))


class Runs(ApiHandler):
    def get(self) -> None:
        try:
            runs, following = runs_page(self.plane.store(), workflow=self.get_query_argument("workflow", None),
                                        status=self.get_query_argument("status", None),
                                        trigger=self.get_query_argument("trigger", None),
                                        limit=self.get_query_argument("limit", "50"),
                                        before=self.get_query_argument("before", None))
        except BadQuery as exc:
            return self.refuse(400, str(exc))
        self.answer(200, {"runs": [public_run(r) for r in runs], "next": following})


class RunHandler(ApiHandler):
    """What the endpoints of one run share: finding it (or answering 404)."""

    def run(self, ref: str) -> dict[str, Any] | None:
        try:
            return self.plane.store().get_run(ref)
        except RunNotFound as exc:
            self.refuse(404, str(exc))
            return None


class RunDetail(RunHandler):
    def get(self, ref: str) -> None:
        if run := self.run(ref):
            self.answer(200, public_run(run))


class RunLog(RunHandler):
    def get(self, ref: str) -> None:
        run = self.run(ref)
        if run is None:
            return
        try:
            log = run_log(run)
        except NoRunLog as exc:
            return self.refuse(404, str(exc))
        self.set_header("Content-Type", "application/x-ipynb+json")
        self.set_header("Content-Disposition", f'attachment; filename="{run["id"]}.ipynb"')
        self.finish(log)


class RunArtifacts(RunHandler):
    def get(self, ref: str) -> None:
        if run := self.run(ref):
            base = self.link(f"/api/runs/{run['id']}/artifacts/")
            self.answer(200, {"run_id": run["id"], "artifacts": [
                {**a, "url": base + quote(a["name"], safe="")} for a in public_run(run)["artifacts"]]})


class RunArtifact(RunHandler):
    async def get(self, ref: str, name: str) -> None:
        try:
            found = artifacts.find(self.plane.store(), ref, name)
        except (RunNotFound, artifacts.ArtifactNotFound) as exc:
            return self.refuse(404, str(exc))
        await downloads.send(self, found)


class RunCancel(RunHandler):
    def post(self, ref: str) -> None:
        run = self.run(ref)
        body = self.body() if run else None
        if body is None:
            return
        reason = body.get("reason")
        try:
            cancelled = self.plane.service.cancel(run["id"], by=self.user, reason=str(reason) if reason else None)
        except RunStateError as exc:
            return self.refuse(409, str(exc))
        self.answer(200, public_run(cancelled))


class RunRerun(RunHandler):
    def post(self, ref: str) -> None:
        """The same notebook and parameters, validated against the notebook as it is now."""
        old = self.run(ref)
        if old is None:
            return
        workflow = Workflow.load(old["notebook"])
        if workflow.problems:
            return self.refuse(409, f"{old['notebook']} is not runnable any more", problems=[
                str(p) for p in workflow.problems])
        try:
            run_id = self.plane.launch(workflow, typed(old["params"]), trigger="rerun", started_by=self.user,
                                       rerun_of=old["id"])
        except ParameterError as exc:
            return self.refuse_params(exc, workflow)
        self.answer(202, {"run_id": run_id, "status": "queued", "url": self.link(f"/api/runs/{run_id}")})


class RunResume(RunHandler):
    def post(self, ref: str) -> None:
        run = self.run(ref)
        if run is None:
            return
        try:
            run_id = self.plane.service.resume(run["id"], by=self.user)
        except (ResumeError, WorkflowError, ParameterError) as exc:
            return self.refuse(409, str(exc))
        self.answer(202, {"run_id": run_id, "status": "queued", "url": self.link(f"/api/runs/{run_id}")})


class Approvals(ApiHandler):
    def get(self) -> None:
        store = self.plane.store()
        user = self.get_query_argument("for", None)
        user = self.principal.name if user == "me" else user
        groups = self.principal.groups if user == self.principal.name else store.user_groups(user) if user else ()
        found = store.list_approvals(user=user, groups=groups,
                                     pending_only=self.get_query_argument("all", "") not in ("1", "true", "yes"))
        self.answer(200, {"approvals": [public_approval(a) for a in found]})


class ApprovalDetail(ApiHandler):
    def get(self, approval_id: str) -> None:
        store = self.plane.store()
        try:
            approval = store.get_approval(int(approval_id))
        except (LookupError, ValueError, OverflowError):
            return self.refuse(404, f"no approval request {approval_id}")
        self.answer(200, {**public_approval(approval), "audit": store.audit_log(f"approval:{approval['id']}")})


class Decide(ApiHandler):
    def post(self, approval_id: str, verb: str) -> None:
        body = self.body()
        if body is None:
            return
        claimed = body.get("as")
        if claimed is not None and not isinstance(claimed, str):
            return self.refuse(400, f"as: expected text, got {type(claimed).__name__}")
        try:
            check_claim(self.principal, claimed)
        except IdentityError as exc:
            return self.refuse(403, str(exc))
        comment = body.get("comment")
        try:
            decided = self.plane.service.decide(int(approval_id), self.principal, verb == "approve",
                                                str(comment) if comment else None)
        except (ValueError, OverflowError):
            return self.refuse(404, f"no approval request {approval_id}")
        except ApprovalError as exc:
            return self.refuse(403, str(exc))
        except LookupError as exc:
            return self.refuse(404, str(exc))
        self.answer(200, public_approval(decided))


def routes() -> list[tuple[str, type]]:
    """Every route of the REST API (``jetnb serve`` adds ``/hooks/``; JupyterLab mounts these under ``/jetnb``)."""
    name = r"([^/]+)"
    return [
        (r"/api/health", Health),
        (r"/api/openapi\.json", OpenApi),
        (r"/api/whoami", WhoAmI),
        (r"/api/workflows", Workflows),
        (rf"/api/workflows/{name}", WorkflowDetail),
        (rf"/api/workflows/{name}/runs", WorkflowRuns),
        (rf"/api/workflows/{name}/(pause|unpause)", PauseUnpause),
        (r"/api/runs", Runs),
        (rf"/api/runs/{name}", RunDetail),
        (rf"/api/runs/{name}/log", RunLog),
        (rf"/api/runs/{name}/artifacts", RunArtifacts),
        (rf"/api/runs/{name}/artifacts/{name}", RunArtifact),
        (rf"/api/runs/{name}/cancel", RunCancel),
        (rf"/api/runs/{name}/rerun", RunRerun),
        (rf"/api/runs/{name}/resume", RunResume),
        (r"/api/approvals", Approvals),
        (r"/api/approvals/(\d+)", ApprovalDetail),
        (r"/api/approvals/(\d+)/(approve|reject)", Decide),
    ]
