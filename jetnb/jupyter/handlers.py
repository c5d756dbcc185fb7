"""The sidebar's API under ``{base_url}jetnb/lab/``: thin Tornado handlers over the run service, the store and the Lab root.

Jupyter authenticates every request (``@tornado.web.authenticated``; the
frontend sends Jupyter's token or cookie and XSRF header through
``ServerConnection``) and says who the user is: ``current_user.username``.
Every refusal is JSON ``{"error": message}`` (``write_error``); an
unexpected exception is logged here with its traceback and answered 500
without it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tornado.web
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from ..http.base import BadBody, json_object
from ..http.runs import BadQuery, run_log, runs_page
from ..model.params import ParameterError, typed
from ..model.workflow import Workflow, WorkflowError
from ..service.request import prepare
from ..service.runs import ResumeError
from ..store import ApprovalError, RunStateError, Store, public_approval
from .lab import Lab, principal
from .run_views import run_view
from .serve_process import AlreadyServing
from .workflows import describe, workflow_view
APPROVAL_FIELDS = ("id", "run_id", "workflow", "step", "approvers", "message", "details", "status", "requested_at",
                   "expires_at", "decided_at", "decided_by", "comment")


class Refused(Exception):
    """A request answered with ``status`` and ``{"error": message, **extra}``."""

    def __init__(self, status: int, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.extra = status, extra


def refusal(exc: BaseException) -> Refused | None:
    """The answer a domain error deserves; None for anything unexpected."""
    if isinstance(exc, Refused):
        return exc
    if isinstance(exc, ParameterError):
        return Refused(422, "bad parameters", problems=exc.problems, fields=exc.fields)
    if isinstance(exc, WorkflowError):
        return Refused(422, "the notebook cannot run as a workflow", problems=[describe(p) for p in exc.problems],
                       fields={})
    if isinstance(exc, (KeyError, IndexError)):  # lookups that failed in our own code: a fault, not a 404
        return None
    for kind, status in ((BadBody, 400), (BadQuery, 400), (ApprovalError, 403), (LookupError, 404), (ResumeError, 409),
                         (RunStateError, 409), (AlreadyServing, 409)):
        if isinstance(exc, kind):
            return Refused(status, str(exc))
    return None


class JetnbHandler(APIHandler):
    def initialize(self, lab: Lab) -> None:
        self.lab = lab

    @property
    def user(self) -> str:
        return self.current_user.username

    def answer(self, status: int, payload: Any) -> None:
        self.set_status(status)
        self.finish(json.dumps(payload, default=str), set_content_type="application/json; charset=utf-8")

    def body(self) -> dict[str, Any]:
        return json_object(self.request.body)

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        known = refusal(exc) if exc is not None else None
        if known is not None:
            return self.answer(known.status, {"error": str(known), **known.extra})
        if isinstance(exc, tornado.web.HTTPError):
            return self.answer(status_code, {"error": exc.log_message or self._reason})
        self.answer(status_code, {"error": "internal error in the jetnb server extension (see the Jupyter log)"
                                  if status_code == 500 else self._reason})

    def log_exception(self, typ: Any, value: BaseException | None, tb: Any) -> None:
        if value is not None and refusal(value) is not None:
            return  # an answer, not a fault
        super().log_exception(typ, value, tb)


class Workflows(JetnbHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        self.answer(200, {"workflows": await self.lab.work(self._list)})

    def _list(self, store: Store) -> list[dict[str, Any]]:
        return [workflow_view(store, found.workflow, found.problems, self.lab.root, self.lab.clock.now())
                for found in self.lab.workflows.scan()]


class WorkflowDetail(JetnbHandler):
    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        self.answer(200, await self.lab.work(self._describe, name))

    def _describe(self, store: Store, name: str) -> dict[str, Any]:
        model = self.lab.workflows.named(name)
        return workflow_view(store, model, [], self.lab.root, self.lab.clock.now(), full=True)


class WorkflowRuns(JetnbHandler):
    @tornado.web.authenticated
    async def post(self, name: str) -> None:
        params, user = _params(self.body()), self.user
        run_id = await self.lab.work(self._start, name, params, user)
        self.answer(202, {"run_id": run_id, "status": "queued"})

    def _start(self, store: Store, name: str, params: dict[str, Any], user: str) -> str:
        return start(self.lab, self.lab.workflows.named(name).path, params, user)


class Notebook(JetnbHandler):
    """Any notebook described as a workflow, for the "Run as workflow" form; problems listed, not refused."""

    @tornado.web.authenticated
    async def get(self) -> None:
        self.answer(200, await self.lab.work(self._describe, self.get_query_argument("path", "")))

    def _describe(self, store: Store, lab_path: str) -> dict[str, Any]:
        model = Workflow.load(self.lab.notebook(lab_path))
        return workflow_view(store, model, [describe(p) for p in model.problems], self.lab.root,
                             self.lab.clock.now(), full=True)


class NotebookRuns(JetnbHandler):
    @tornado.web.authenticated
    async def post(self) -> None:
        body = self.body()
        if not isinstance(body.get("path"), str):
            raise Refused(400, 'path: the notebook to run is required, e.g. {"path": "flows/x.ipynb", "params": {}}')
        run_id = await self.lab.work(self._start, body["path"], _params(body), self.user)
        self.answer(202, {"run_id": run_id, "status": "queued"})

    def _start(self, store: Store, lab_path: str, params: dict[str, Any], user: str) -> str:
        return start(self.lab, self.lab.notebook(lab_path), params, user)


class Runs(JetnbHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        query = {key: self.get_query_argument(key, None) or None for key in ("workflow", "status", "before")}
        self.answer(200, await self.lab.work(self._page, query, self.get_query_argument("limit", "50")))

    @staticmethod
    def _page(store: Store, query: dict[str, str | None], limit: str) -> dict[str, Any]:
        store.reap_orphans()  # a run whose process died is shown interrupted, as `jetnb runs` shows it
        runs, following = runs_page(store, limit=limit, **query)
        return {"runs": [run_view(r) for r in runs], "next": following}


class RunDetail(JetnbHandler):
    @tornado.web.authenticated
    async def get(self, ref: str) -> None:
        self.answer(200, await self.lab.work(lambda store: run_view(store.get_run(ref))))


class RunAction(JetnbHandler):
    @tornado.web.authenticated
    async def post(self, ref: str, action: str) -> None:
        body, user, service = self.body(), self.user, self.lab.service
        if action == "cancel":
            reason = str(body["reason"]) if body.get("reason") else None
            cancelled = await self.lab.work(lambda store: service.cancel(ref, by=user, reason=reason))
            return self.answer(200, run_view(cancelled))
        if action == "rerun":
            run_id = await self.lab.work(self._rerun, ref, user)
        else:
            run_id = await self.lab.work(lambda store: service.resume(ref, by=user))
        self.answer(202, {"run_id": run_id})

    def _rerun(self, store: Store, ref: str, user: str) -> str:
        """A new run of the same notebook with the same parameters, checked against the notebook as it is now."""
        old = store.get_run(ref, with_steps=False)
        workflow, values = prepare(old["notebook"], typed(old["params"]))
        return self.lab.service.submit(workflow, values, trigger="rerun", started_by=user, rerun_of=old["id"])


class RunLog(JetnbHandler):
    @tornado.web.authenticated
    async def get(self, ref: str) -> None:
        run_id, log = await self.lab.work(self._read_log, ref)
        self.set_header("Content-Disposition", f'attachment; filename="{run_id}.ipynb"')
        self.finish(log, set_content_type="application/x-ipynb+json")

    @staticmethod
    def _read_log(store: Store, ref: str) -> tuple[str, bytes]:
        run = store.get_run(ref, with_steps=False)
        return run["id"], run_log(run)


class Approvals(JetnbHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        user = self.user
        found = await self.lab.work(lambda store: store.list_approvals(user=user, groups=principal(user, store).groups))
        self.answer(200, {"approvals": [approval_view(a) for a in found]})


class Decide(JetnbHandler):
    @tornado.web.authenticated
    async def post(self, approval_id: str, verb: str) -> None:
        comment, user, service = self.body().get("comment"), self.user, self.lab.service
        decided = await self.lab.work(lambda store: service.decide(
            int(approval_id), principal(user, store), verb == "approve",
            str(comment) if comment else None))
        self.answer(200, approval_view(decided))


class WhoAmI(JetnbHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.answer(200, {"user": self.user})


class Server(JetnbHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.answer(200, self.lab.serve.status())


class ServerStart(JetnbHandler):
    @tornado.web.authenticated
    def post(self) -> None:
        self.answer(202, self.lab.serve.start())


class NotFound(JetnbHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        raise Refused(404, f"no such endpoint: {self.request.method} {self.request.path}")

    post = get


def approval_view(approval: dict[str, Any]) -> dict[str, Any]:
    public = public_approval(approval)
    return {key: public.get(key) for key in APPROVAL_FIELDS}


def start(lab: Lab, notebook: Path, params: dict[str, Any], user: str) -> str:
    """Validate (nothing recorded on WorkflowError or ParameterError) and submit a run started in the Lab.

    The sidebar sends JSON, so values are typed, as the REST API's: checked
    strictly against the declared type, never parsed from text.
    """
    workflow, values = prepare(notebook, typed(params))
    return lab.service.submit(workflow, values, trigger="lab", started_by=user)


def _params(body: dict[str, Any]) -> dict[str, Any]:
    params = body.get("params") or {}
    if not isinstance(params, dict):
        raise Refused(400, f"params: expected a JSON object, got {type(params).__name__}")
    return params


def routes(base_url: str, lab: Lab) -> list[tuple[str, type, dict[str, Any]]]:
    name = r"([^/]+)"
    paths = [
        ("workflows", Workflows), (f"workflows/{name}", WorkflowDetail), (f"workflows/{name}/runs", WorkflowRuns),
        ("notebook", Notebook), ("notebook/runs", NotebookRuns),
        ("runs", Runs), (f"runs/{name}", RunDetail), (f"runs/{name}/(cancel|rerun|resume)", RunAction),
        (f"runs/{name}/log", RunLog),
        ("approvals", Approvals), (r"approvals/(\d+)/(approve|reject)", Decide),
        ("whoami", WhoAmI), ("server", Server), ("server/start", ServerStart),
        (".*", NotFound),
    ]
    return [(url_path_join(base_url, "jetnb/lab", path) + "$", handler, {"lab": lab}) for path, handler in paths]
