"""The web pages of ``jetnb serve``: workflows (run form, graph, pause), runs, a run, approvals.

Server-rendered with Tornado templates, which escape everything they print.
The pages use the API token: ``?token=`` once (or the login form) sets a
signed cookie; forms carry Tornado's XSRF field because cookies are sent by
browsers on their own. The only JavaScript-free way to follow a run is used:
a page of a queued or running run refreshes itself every two seconds.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import tornado.web

from .. import location
from ..durations import format_duration
from ..model.params import ParameterError, parameter_fields, typed
from ..service.runs import RunsFolderError
from ..render import first_line
from ..http.auth import ADMIN, principal_for
from ..http.base import LogsWithoutQuery
from ..http.views import workflow_view
from ..protocol import RUN_STATUSES, Principal
from ..store import ApprovalError, RunNotFound, RunStateError, may_decide, public_run
from . import flow_svg, notebook_html

COOKIE = "jetnb_session"
PAGE_SIZE = 50
TEMPLATES = str(Path(__file__).parent / "templates")


class Page(LogsWithoutQuery):
    """A signed session cookie names the signed-in user; anything else is sent to the login form.

    The cookie holds the user and the id of the token they signed in with,
    never a token: rotating the token or removing the user ends the session.
    ``?token=`` signs in too, then redirects to the same page without it,
    so the token stays out of the browser's history.
    """

    @property
    def plane(self) -> Any:
        return self.settings["plane"]

    def get_template_path(self) -> str:
        return TEMPLATES

    def get_current_user(self) -> Principal | None:
        cookie = self.get_signed_cookie(COOKIE, max_age_days=7)
        if not cookie:
            return None
        try:
            session = json.loads(cookie)
            name, token_id = str(session["user"]), str(session["token"])
        except (ValueError, KeyError, TypeError):
            return None
        if name == ADMIN and token_id == server_session(self.settings["token"]):
            return Principal(ADMIN, admin=True)
        return self.plane.store().session_valid(name, token_id)

    def sign_in(self, token: str) -> Principal | None:
        principal = principal_for(token, self.settings["token"], self.plane.store())
        if principal is not None:
            token_id = server_session(self.settings["token"]) if principal.admin else principal.token_id
            self.set_signed_cookie(COOKIE, json.dumps({"user": principal.name, "token": token_id}), httponly=True,
                                   samesite="Strict", expires_days=7)
        return principal

    @property
    def user(self) -> str:
        """Who is using the page, for ``started_by`` and the audit log."""
        return self.current_user.name

    def prepare(self) -> None:
        self.set_header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                        "img-src 'self' data:; frame-src 'self'; script-src 'none'; object-src 'none'")
        self.set_header("X-Content-Type-Options", "nosniff")
        if isinstance(self, Login):
            return
        given = self.get_query_argument("token", None)
        if given and self.sign_in(given) is not None:
            return self.redirect(self.request.path)
        if self.current_user is None:
            self.redirect("/ui/login?" + urlencode({"next": self.request.path}))

    def render_page(self, template: str, **values: Any) -> None:
        self.render(template, duration=format_duration, first_line=first_line, dumps=_dumps,
                    me=self.current_user, **values)


def server_session(server_token: str) -> str:
    """A session signed in with the server token names a digest of it: a new token ends those sessions."""
    return "server:" + hashlib.sha256(server_token.encode()).hexdigest()[:16]


def on_site(target: str, default: str) -> str:
    """A redirect target only if it is a path on this site (``/x``, not ``//host`` or ``http://...``)."""
    if target.startswith("/") and not target.startswith(("//", "/\\")) and "\\" not in target and \
            not urlsplit(target).netloc:
        return target
    return default


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


class Login(Page):
    def get(self) -> None:
        self.render_page("login.html", next=self.get_query_argument("next", "/ui/workflows"), error=None)

    def post(self) -> None:
        target = on_site(self.get_body_argument("next", "/ui/workflows"), "/ui/workflows")
        if self.sign_in(self.get_body_argument("token", "")) is None:
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
        self.redirect(f"/ui/runs/{run_id}")


class PauseToggle(Page):
    def post(self, name: str, action: str) -> None:
        if self.plane.catalog.get(name) is None:
            raise tornado.web.HTTPError(404)
        self.plane.set_paused(name, action == "pause", f"{action}d on the web page", by=self.user)
        self.redirect(on_site(self.get_body_argument("back", "/ui/workflows"), "/ui/workflows"))


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
            older = "/ui/runs?" + urlencode({**{k: v for k, v in filters.items() if v}, "before": runs[-1]["id"]})
        self.render_page("runs.html", runs=runs, filters=filters, statuses=RUN_STATUSES, older=older,
                         workflows=sorted(self.plane.catalog.served))


class RunPage(Page):
    def run(self, ref: str) -> dict[str, Any]:
        try:
            return self.plane.store().get_run(ref)
        except RunNotFound as exc:
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
        self.redirect(f"/ui/runs/{run_id}")


class RunCancel(RunPage):
    def post(self, ref: str) -> None:
        run = self.run(ref)
        reason = self.get_body_argument("reason", "").strip() or None
        try:
            self.plane.service.cancel(run["id"], by=self.user, reason=reason)
        except RunStateError as exc:
            raise tornado.web.HTTPError(409, str(exc)) from None
        self.redirect(f"/ui/runs/{run['id']}")


class RunNotebook(RunPage):
    """The run log as sanitised HTML, for a sandboxed iframe: no scripts, whatever the outputs hold."""

    def get(self, ref: str) -> None:
        run = self.run(ref)
        if not run["log_path"] or not location.is_file(run["log_path"]):
            raise tornado.web.HTTPError(404, "this run has no run log yet")
        self.set_header("Content-Security-Policy", notebook_html.CSP)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(notebook_html.render(location.read_text(run["log_path"])))


class RunLogFile(RunPage):
    def get(self, ref: str) -> None:
        run = self.run(ref)
        if not run["log_path"] or not location.is_file(run["log_path"]):
            raise tornado.web.HTTPError(404, "this run has no run log yet")
        self.set_header("Content-Type", "application/x-ipynb+json")
        self.set_header("Content-Disposition", f'attachment; filename="{run["id"]}.ipynb"')
        self.finish(location.read_bytes(run["log_path"]))


class Approvals(Page):
    def get(self) -> None:
        store = self.plane.store()
        me = self.current_user
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
            decided = self.plane.service.decide(approval_id, self.current_user, approve, comment)
        except (ApprovalError, LookupError) as exc:
            return self.redirect("/ui/approvals?" + urlencode({"error": f"request {approval_id}: {exc}"}))
        self.redirect("/ui/approvals?" + urlencode({"message": f"request {approval_id} {decided['status']} by "
                                                               f"{self.user}; run {decided['run_id']} resumes"}))


def routes() -> list[tuple[str, type]]:
    name = r"([^/]+)"
    return [
        (r"/", tornado.web.RedirectHandler, {"url": "/ui/workflows"}),
        (r"/ui/?", tornado.web.RedirectHandler, {"url": "/ui/workflows"}),
        (r"/ui/login", Login),
        (r"/ui/workflows", Workflows),
        (rf"/ui/workflows/{name}", WorkflowPage),
        (rf"/ui/workflows/{name}/(pause|unpause)", PauseToggle),
        (r"/ui/runs", Runs),
        (rf"/ui/runs/{name}", RunPage),
        (rf"/ui/runs/{name}/cancel", RunCancel),
        (rf"/ui/runs/{name}/notebook", RunNotebook),
        (rf"/ui/runs/{name}/log.ipynb", RunLogFile),
        (r"/ui/approvals", Approvals),
    ]
