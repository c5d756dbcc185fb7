"""The web pages of ``jetnb serve``: workflows (run form, graph, pause), runs, a run, approvals.

Server-rendered with Tornado templates, which escape everything they print.
The pages use the API token: ``?token=`` once (or the login form) sets a
signed cookie; forms carry Tornado's XSRF field because cookies are sent by
browsers on their own. The only JavaScript-free way to follow a run is used:
a page of a queued or running run refreshes itself every two seconds.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import tornado.web

from ..durations import format_duration
from ..model.params import ParameterError, typed
from ..render import first_line
from ..http.auth import same_secret
from ..http.views import field_problems, workflow_view
from ..protocol import RUN_STATUSES
from ..store import ApprovalError, RunNotFound, RunStateError, public_run
from . import flow_svg, notebook_html

COOKIE = "jetnb_token"
PAGE_SIZE = 50
TEMPLATES = str(Path(__file__).parent / "templates")


class Page(tornado.web.RequestHandler):
    """Token from ``?token=`` or the signed cookie; anything else is sent to the login form."""

    @property
    def plane(self) -> Any:
        return self.settings["plane"]

    def get_template_path(self) -> str:
        return TEMPLATES

    def get_current_user(self) -> str | None:
        given = self.get_query_argument("token", None)
        if given and same_secret(given, self.settings["token"]):
            self.set_signed_cookie(COOKIE, given, httponly=True, samesite="Strict", expires_days=7)
            return "token"
        cookie = self.get_signed_cookie(COOKIE, max_age_days=7)
        return "token" if cookie and same_secret(cookie.decode(), self.settings["token"]) else None

    @property
    def user(self) -> str:
        """Who is using the page, for ``started_by`` and the audit log."""
        return "web"

    def prepare(self) -> None:
        self.set_header("Content-Security-Policy", "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                        "img-src 'self' data:; frame-src 'self'; script-src 'none'; object-src 'none'")
        self.set_header("X-Content-Type-Options", "nosniff")
        if self.current_user is None and not isinstance(self, Login):
            self.redirect("/ui/login?" + urlencode({"next": self.request.uri.split("?")[0]}))

    def render_page(self, template: str, **values: Any) -> None:
        self.render(template, duration=format_duration, first_line=first_line, dumps=_dumps,
                    **values)


def _dumps(value: Any) -> str:
    return json.dumps(value, indent=2, default=str)


class Login(Page):
    def get(self) -> None:
        self.render_page("login.html", next=self.get_query_argument("next", "/ui/workflows"), error=None)

    def post(self) -> None:
        target = self.get_body_argument("next", "/ui/workflows")
        target = target if target.startswith("/ui/") else "/ui/workflows"
        token = self.get_body_argument("token", "")
        if not same_secret(token, self.settings["token"]):
            self.set_status(401)
            return self.render_page("login.html", next=target, error="wrong token")
        self.set_signed_cookie(COOKIE, token, httponly=True, samesite="Strict", expires_days=7)
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
                         field_problems=field_problems(problems, served.workflow))

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
        self.redirect(f"/ui/runs/{run_id}")


class PauseToggle(Page):
    def post(self, name: str, action: str) -> None:
        if self.plane.catalog.get(name) is None:
            raise tornado.web.HTTPError(404)
        self.plane.set_paused(name, action == "pause", f"{action}d on the web page", by=self.user)
        self.redirect(self.get_body_argument("back", "/ui/workflows"))


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
        has_log = bool(run["log_path"]) and Path(run["log_path"]).is_file()
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
        if not run["log_path"] or not Path(run["log_path"]).is_file():
            raise tornado.web.HTTPError(404, "this run has no run log yet")
        self.set_header("Content-Security-Policy", notebook_html.CSP)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(notebook_html.render(run["log_path"]))


class RunLogFile(RunPage):
    def get(self, ref: str) -> None:
        run = self.run(ref)
        if not run["log_path"] or not Path(run["log_path"]).is_file():
            raise tornado.web.HTTPError(404, "this run has no run log yet")
        self.set_header("Content-Type", "application/x-ipynb+json")
        self.set_header("Content-Disposition", f'attachment; filename="{run["id"]}.ipynb"')
        self.finish(Path(run["log_path"]).read_bytes())


class Approvals(Page):
    def get(self) -> None:
        store = self.plane.store()
        self.render_page("approvals.html", pending=store.list_approvals(), recent=[
            a for a in store.list_approvals(pending_only=False, limit=30) if a["status"] != "pending"],
            message=self.get_query_argument("message", None), error=self.get_query_argument("error", None))

    def post(self) -> None:
        approval_id = int(self.get_body_argument("id"))
        user = self.get_body_argument("as", "").strip()
        approve = self.get_body_argument("decision") == "approve"
        comment = self.get_body_argument("comment", "").strip() or None
        try:
            if not user:
                raise ApprovalError("say who you are: the name is required")
            decided = self.plane.service.decide(approval_id, user, approve, comment)
        except (ApprovalError, LookupError) as exc:
            return self.redirect("/ui/approvals?" + urlencode({"error": f"request {approval_id}: {exc}"}))
        self.redirect("/ui/approvals?" + urlencode({"message": f"request {approval_id} {decided['status']} by {user}; "
                                                               f"run {decided['run_id']} resumes"}))


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
