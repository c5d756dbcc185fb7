"""The web pages of ``jetnb serve``: workflows (run form, graph, pause), runs, a run, approvals.

Server-rendered with Tornado templates, which escape everything they print.
In ``jetnb serve`` the pages use the API token: ``?token=`` once (or the
login form) sets a signed cookie; inside JupyterLab, Jupyter's login does.
Forms carry Tornado's XSRF field because cookies are sent by browsers on
their own. Every link and redirect starts with the mount's root. The only
JavaScript-free way to follow a run is used: a page of a queued or running
run refreshes itself every two seconds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import tornado.web

from .. import location
from ..artifact_rules import human_size
from ..durations import format_duration
from ..model.params import ParameterError, parameter_fields, typed
from ..service import artifacts
from ..service.runs import RunsFolderError
from ..render import first_line
from ..http import downloads
from ..http.base import Mounted
from ..http.callers import Tokens
from ..http.runs import NoRunLog, run_log
from ..http.views import workflow_view
from ..protocol import RUN_STATUSES, Principal
from ..store import ApprovalError, RunNotFound, RunStateError, WorkflowNotFound, may_decide, public_run
from . import flow_svg, notebook_html

PAGE_SIZE = 50
TEMPLATES = str(Path(__file__).parent / "templates")


class Page(Mounted):
    """Who is using the page comes from the mount's callers (``http/callers.py``); nobody is sent to sign in.

    In ``jetnb serve``, ``?token=`` signs in too, then redirects to the same
    page without it, so the token stays out of the browser's history.
    Inside JupyterLab, Jupyter has already sent a visitor who is not logged
    in to its own login page before this runs.
    """

    principal: Principal

    def get_template_path(self) -> str:
        return TEMPLATES

    @property
    def user(self) -> str:
        """Who is using the page, for ``started_by`` and the audit log."""
        return self.principal.name

    def prepare(self) -> None:
        self.set_header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                        "img-src 'self' data:; frame-src 'self'; script-src 'none'; object-src 'none'")
        self.set_header("X-Content-Type-Options", "nosniff")
        if isinstance(self, Login):
            return
        store = self.plane.store()
        given = self.get_query_argument("token", None)
        if given and isinstance(self.callers, Tokens) and self.callers.sign_in(self, given, store) is not None:
            return self.redirect(self.request.path)
        principal = self.callers.page_caller(self, store)
        if principal is None:
            return self.callers.nobody(self, page=True)
        self.principal = principal

    def render_page(self, template: str, **values: Any) -> None:
        """``server``: whether a ``jetnb serve`` runs for the store, where the plane has a ``serve`` to ask (JupyterLab's
        ``LabPlane``; ``jetnb serve``'s pages are that server)."""
        serve = getattr(self.plane, "serve", None)
        self.render(template, duration=format_duration, first_line=first_line, dumps=_dumps, size=human_size,
                    quote=quote, root=self.link(""),
                    me=getattr(self, "principal", None), server=serve.status() if serve else None,
                    here=self.request.path, **values)


def on_site(target: str, default: str) -> str:
    """A redirect target only if it is a path on this site (``/x``, not ``//host`` or ``http://...``)."""
    if target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target and \
            not urlsplit(target).netloc:
        return target
    return default


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


class Login(Page):
    """``jetnb serve``'s sign-in form (``Tokens``); not mounted where the host application signs people in."""

    def get(self) -> None:
        self.render_page("login.html", next=self.get_query_argument("next", "/ui/workflows"), error=None)

    def post(self) -> None:
        target = on_site(self.get_body_argument("next", "/ui/workflows"), "/ui/workflows")
        if self.callers.sign_in(self, self.get_body_argument("token", ""), self.plane.store()) is None:
            self.set_status(401)
            return self.render_page("login.html", next=target, error="wrong token")
        self.redirect(target)


class Workflows(Page):
    def get(self) -> None:
        served = sorted(self.plane.catalog.served.values(), key=lambda s: s.name)
        self.render_page("workflows.html", workflows=[workflow_view(self.plane, s) for s in served])


class WorkflowPage(Page):
    def served(self, name: str) -> Any:
        served = self.plane.catalog.get(name)
        if served is None:
            raise tornado.web.HTTPError(404, f"no workflow {name!r} is served")
        return served

    def get(self, name: str) -> None:
        self.show(self.served(name), {}, [])

    def show(self, served: Any, values: dict[str, Any], problems: list[str]) -> None:
        self.render_page("workflow.html", wf=workflow_view(self.plane, served, full=True),
                         graph=flow_svg.render(served.workflow), values=values, problems=problems,
                         field_problems=parameter_fields(problems))

    def post(self, name: str) -> None:
        """The Run form: values are text, validated exactly like ``-p`` on the CLI."""
        served = self.served(name)
        values = {p.name: self.get_body_argument(p.name) for p in served.workflow.parameters
                  if self.get_body_argument(p.name, None) not in (None, "")}
        for p in served.workflow.parameters:  # an unticked checkbox sends nothing: it means false
            if p.type.base == "bool" and p.name not in values:
                values[p.name] = "false"
        try:
            run_id = self.plane.launch(served.workflow, values, trigger="web", started_by=self.user)
        except ParameterError as exc:
            self.set_status(422)
            return self.show(served, values, exc.problems)
        except RunsFolderError as exc:
            raise tornado.web.HTTPError(503, str(exc)) from None
        self.redirect(self.link(f"/ui/runs/{run_id}"))


class PauseToggle(Page):
    def post(self, name: str, action: str) -> None:
        if self.plane.catalog.get(name) is None:
            raise tornado.web.HTTPError(404)
        try:
            self.plane.set_paused(name, action == "pause", f"{action}d on the web page", by=self.user)
        except WorkflowNotFound as exc:
            raise tornado.web.HTTPError(409, str(exc)) from None
        default = self.link("/ui/workflows")
        self.redirect(on_site(self.get_body_argument("back", default), default))


class Runs(Page):
    def get(self) -> None:
        store = self.plane.store()
        filters = {k: self.get_query_argument(k, "") or None for k in ("workflow", "status", "trigger")}
        if filters["status"] and filters["status"] not in RUN_STATUSES:
            filters["status"] = None
        before = self.get_query_argument("before", None)
        cursor = None
        if before:
            try:
                last = store.get_run(before, with_steps=False)
                cursor = (last["created_at"], last["id"])
            except RunNotFound:
                cursor = None
        runs = [public_run(r) for r in store.list_runs(limit=PAGE_SIZE, before=cursor, **filters)]
        older = None
        if len(runs) == PAGE_SIZE:
            older = self.link("/ui/runs?") + urlencode({**{k: v for k, v in filters.items() if v}, "before": runs[-1]["id"]})
        self.render_page("runs.html", runs=runs, filters=filters, statuses=RUN_STATUSES, older=older,
                         workflows=sorted(self.plane.catalog.served))


class RunPage(Page):
    def run(self, ref: str) -> dict[str, Any]:
        try:
            return self.plane.store().get_run(ref)
        except RunNotFound as exc:
            raise tornado.web.HTTPError(404, str(exc)) from None

    def log_of(self, ref: str) -> tuple[dict[str, Any], bytes]:
        run = self.run(ref)
        try:
            return run, run_log(run)
        except NoRunLog as exc:
            raise tornado.web.HTTPError(404, str(exc)) from None

    def get(self, ref: str) -> None:
        run = public_run(self.run(ref))
        pending = [a for a in self.plane.store().run_approvals(run["id"]) if a["status"] == "pending"]
        has_log = bool(run["log_path"]) and location.is_file(run["log_path"])
        self.render_page("run.html", run=run, pending=pending, has_log=has_log,
                         live=run["status"] in ("queued", "running"),
                         cancellable=run["status"] in ("queued", "running", "waiting"))

    def post(self, ref: str) -> None:
        """Rerun: the same notebook and parameters, validated against the notebook as it is now."""
        old = self.run(ref)
        served = self.plane.catalog.get(old["workflow"])
        if served is None:
            raise tornado.web.HTTPError(404, f"{old['workflow']} is not served any more")
        try:
            run_id = self.plane.launch(served.workflow, typed(old["params"]), trigger="rerun", started_by=self.user,
                                       rerun_of=old["id"])
        except ParameterError as exc:
            raise tornado.web.HTTPError(422, "; ".join(exc.problems)) from None
        self.redirect(self.link(f"/ui/runs/{run_id}"))


class RunCancel(RunPage):
    def post(self, ref: str) -> None:
        run = self.run(ref)
        reason = self.get_body_argument("reason", "").strip() or None
        try:
            self.plane.service.cancel(run["id"], by=self.user, reason=reason)
        except RunStateError as exc:
            raise tornado.web.HTTPError(409, str(exc)) from None
        self.redirect(self.link(f"/ui/runs/{run['id']}"))


class RunNotebook(RunPage):
    """The run log as sanitised HTML, for a sandboxed iframe: no scripts, whatever the outputs hold."""

    def get(self, ref: str) -> None:
        _, log = self.log_of(ref)
        self.set_header("Content-Security-Policy", notebook_html.CSP)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(notebook_html.render(log.decode("utf-8")))


class RunLogFile(RunPage):
    def get(self, ref: str) -> None:
        run, log = self.log_of(ref)
        self.set_header("Content-Type", "application/x-ipynb+json")
        self.set_header("Content-Disposition", f'attachment; filename="{run["id"]}.ipynb"')
        self.finish(log)


class RunArtifactFile(RunPage):
    """An artifact of the run, served as the API serves it (``http/downloads.py``), for the signed-in person."""

    async def get(self, ref: str, name: str) -> None:
        try:
            found = artifacts.find(self.plane.store(), ref, name)
        except (RunNotFound, artifacts.ArtifactNotFound) as exc:
            raise tornado.web.HTTPError(404, str(exc)) from None
        await downloads.send(self, found)


class Approvals(Page):
    def get(self) -> None:
        store = self.plane.store()
        me = self.principal
        pending = store.list_approvals()
        self.render_page("approvals.html", pending=pending,
                         mine={a["id"] for a in pending if may_decide(a, me.name, me.groups)}, recent=[
            a for a in store.list_approvals(pending_only=False, limit=30) if a["status"] != "pending"],
            message=self.get_query_argument("message", None), error=self.get_query_argument("error", None))

    def post(self) -> None:
        try:
            approval_id = int(self.get_body_argument("id"))
        except (ValueError, OverflowError):
            raise tornado.web.HTTPError(400, "id: expected the number of a request") from None
        approve = self.get_body_argument("decision") == "approve"
        comment = self.get_body_argument("comment", "").strip() or None
        try:
            decided = self.plane.service.decide(approval_id, self.principal, approve, comment)
        except (ApprovalError, LookupError) as exc:
            return self.redirect(self.link("/ui/approvals?") + urlencode({"error": f"request {approval_id}: {exc}"}))
        self.redirect(self.link("/ui/approvals?") + urlencode({"message": f"request {approval_id} {decided['status']} by "
                                                               f"{self.user}; run {decided['run_id']} resumes"}))


def routes(*, sign_in: bool = True) -> list[tuple[str, type] | tuple[str, type, dict[str, Any]]]:
    """The pages' routes; ``sign_in`` adds ``/ui/login``, and ``/`` sending visitors to the pages (``jetnb serve``).

    Redirects inside the routes are relative (``workflows``), so they work
    under any mount.
    """
    name = r"([^/]+)"
    return [
        *([(r"/", tornado.web.RedirectHandler, {"url": "/ui/workflows"}), (r"/ui/login", Login)] if sign_in else []),
        (r"/ui", tornado.web.RedirectHandler, {"url": "ui/workflows"}),
        (r"/ui/", tornado.web.RedirectHandler, {"url": "workflows"}),
        (r"/ui/workflows", Workflows),
        (rf"/ui/workflows/{name}", WorkflowPage),
        (rf"/ui/workflows/{name}/(pause|unpause)", PauseToggle),
        (r"/ui/runs", Runs),
        (rf"/ui/runs/{name}", RunPage),
        (rf"/ui/runs/{name}/cancel", RunCancel),
        (rf"/ui/runs/{name}/notebook", RunNotebook),
        (rf"/ui/runs/{name}/log.ipynb", RunLogFile),
        (rf"/ui/runs/{name}/artifacts/{name}", RunArtifactFile),
        (r"/ui/approvals", Approvals),
    ]
