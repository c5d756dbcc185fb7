"""``GET /api/openapi.json``: a valid OpenAPI 3.1 document that names exactly the routes ``make_app`` registers under
``/api/`` and ``/hooks/`` (methods included), and that real answers of a running ``jetnb serve`` fit: status codes,
content types and bodies, checked with openapi-core."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest
import requests
import tornado.web
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse
from openapi_spec_validator import validate

from servekit import wait_for
from jetnb.http.openapi import SCHEMAS, document
from jetnb.server import make_app

METHODS = ("get", "post", "put", "patch", "delete")


def registered() -> set[tuple[str, str]]:
    """(path with ``{}`` for each parameter, method) for every route of make_app under /api/ and /hooks/."""
    found = set()
    for rule in make_app(plane=None, token="x").wildcard_router.rules:  # type: ignore[arg-type]
        pattern = rule.matcher.regex.pattern.rstrip("$").replace("\\.", ".")
        if not pattern.startswith(("/api/", "/hooks/")):
            continue
        methods = [m for m in METHODS if getattr(rule.target, m) is not getattr(tornado.web.RequestHandler, m)]
        for path in expand(pattern):
            found.update((path, method) for method in methods)
    return found


def expand(pattern: str) -> list[str]:
    """``(pause|unpause)`` becomes two paths; any other group is one parameter."""
    alternatives = re.search(r"\(([a-z]+(?:\|[a-z]+)+)\)", pattern)
    if alternatives:
        return [p for word in alternatives.group(1).split("|")
                for p in expand(pattern[:alternatives.start()] + word + pattern[alternatives.end():])]
    return [re.sub(r"\([^)]*\)", "{}", pattern)]


def described() -> set[tuple[str, str]]:
    return {(re.sub(r"\{[^}]+\}", "{}", path), method) for path, item in document()["paths"].items()
            for method in METHODS if method in item}


def test_the_document_is_valid_openapi_and_names_every_route():
    validate(document())
    assert document()["openapi"].startswith("3.1")
    assert registered() == described()


GREET = ["%load_ext jetnb", "%%workflow\nname: greet", ("params", "name: str = 'World'\ntimes: int = 1"),
         "%%step greet\ngreeting = name * times", "%%result\n{'greeting': greeting}"]
GATED = ["%load_ext jetnb", "%%workflow\nname: gated\napprovers:\n  managers: [alice]",
         '%%step pay --approve managers --message "Pay?"\npaid = 1', "%%result\n{'paid': paid}"]
HOOKED = ["%load_ext jetnb", """%%workflow
name: hooked
triggers:
  - webhook: {name: hooked, auth: token, secret_env: HOOK_SECRET}
""", ("params", "n: int = 0"), "%%step a\nx = n"]


class Checked:
    """Every answer goes through the document: its status must be described for the operation, and its content
    type and body must fit."""

    def __init__(self, srv, spec: OpenAPI):
        self.srv, self.spec, self.seen = srv, spec, set()

    def __call__(self, answer: requests.Response, status: int) -> requests.Response:
        assert answer.status_code == status, answer.text
        self.spec.validate_response(RequestsOpenAPIRequest(answer.request), RequestsOpenAPIResponse(answer))
        self.seen.add((answer.request.method, status))
        return answer

    def api(self, method: str, path: str, status: int, **kw) -> requests.Response:
        return self(self.srv.api(method, path, **kw), status)


@pytest.fixture
def checked(server, user):
    alice = user("alice")["JETNB_USER_TOKEN"]
    carol = user("carol")["JETNB_USER_TOKEN"]
    srv = server(env={"HOOK_SECRET": "s3cret"})
    for name, cells in (("greet", GREET), ("gated", GATED), ("hooked", HOOKED)):
        srv.workflow(name, cells)
    srv.start()
    served = requests.get(srv.url + "/api/openapi.json", timeout=30)  # no token needed
    assert served.status_code == 200 and served.json() == document()
    # a run log is JSON under its own media type: openapi-core reads it as JSON, as clients do
    config = Config(extra_media_type_deserializers={"application/x-ipynb+json": json.loads})
    spec = OpenAPI.from_dict({**served.json(), "servers": [{"url": srv.url}]}, config=config)
    return Checked(srv, spec), srv, alice, carol


def test_real_answers_fit_the_document(checked):
    check, srv, alice, carol = checked
    check.api("GET", "/api/health", 200, token=None)
    check.api("GET", "/api/whoami", 200)
    check.api("GET", "/api/whoami", 401, token="wrong")
    check.api("GET", "/api/workflows", 200)
    check.api("GET", "/api/workflows/greet", 200)
    check.api("GET", "/api/workflows/nope", 404)

    run_id = check.api("POST", "/api/workflows/greet/runs", 202, json={"params": {"times": 2}}).json()["run_id"]
    check.api("POST", "/api/workflows/greet/runs", 422, json={"params": {"times": "x", "nme": 1}})
    check.api("POST", "/api/workflows/greet/runs", 400, data="[1]")
    srv.finished_runs("greet", 1)
    check.api("GET", "/api/runs", 200)
    check.api("GET", "/api/runs?workflow=greet&limit=1", 200)
    check.api("GET", "/api/runs?limit=0", 400)
    check.api("GET", f"/api/runs/{run_id}", 200)
    check.api("GET", "/api/runs/nope", 404)
    log = check.api("GET", f"/api/runs/{run_id}/log", 200)
    assert log.headers["Content-Type"] == "application/x-ipynb+json"
    check.api("GET", "/api/runs/nope/log", 404)
    check.api("POST", f"/api/runs/{run_id}/cancel", 409, json={})
    check.api("POST", f"/api/runs/{run_id}/resume", 409)
    rerun = check.api("POST", f"/api/runs/{run_id}/rerun", 202).json()["run_id"]
    check.api("POST", "/api/workflows/greet/pause", 200, json={"reason": "test"})
    check.api("POST", "/api/workflows/greet/unpause", 200)

    gated = check.api("POST", "/api/workflows/gated/runs", 202, json={}).json()["run_id"]
    wait_for(lambda: srv.run(gated)["status"] == "waiting", "the gated run to wait")
    [pending] = check.api("GET", "/api/approvals", 200).json()["approvals"]
    check.api("GET", f"/api/approvals/{pending['id']}", 200)
    check.api("GET", "/api/approvals/999", 404)
    check.api("POST", f"/api/approvals/{pending['id']}/approve", 403, json={}, token=carol)
    check.api("POST", f"/api/approvals/{pending['id']}/approve", 200, json={"comment": "ok"}, token=alice)
    check.api("POST", "/api/approvals/999/reject", 404, json={}, token=alice)
    wait_for(lambda: srv.run(gated)["status"] == "succeeded", "the approved run to end")

    another = check.api("POST", "/api/workflows/gated/runs", 202, json={}).json()["run_id"]
    wait_for(lambda: srv.run(another)["status"] == "waiting", "another gated run to wait")
    check.api("POST", f"/api/runs/{another}/resume", 409)  # still waiting for its decision
    check.api("POST", f"/api/runs/{another}/cancel", 200, json={"reason": "not needed"})
    check.api("GET", "/api/approvals?all=1&for=me", 200)

    secret = {"Authorization": "Bearer s3cret"}
    check(srv.hook("hooked", {"n": 1}, headers={**secret, "X-Delivery-Id": "d1"}), 202)
    check(srv.hook("hooked", {"n": 1}, headers={**secret, "X-Delivery-Id": "d1"}), 200)
    check(srv.hook("hooked", {"n": "x"}, headers=secret), 422)
    check(srv.hook("hooked", {"n": 1}, headers={"Authorization": "Bearer wrong"}), 401)
    check(srv.hook("nothing", {}), 404)
    unknown = srv.api("GET", "/api/nothing")  # no path to find it under: its body is the Error object all the same
    assert unknown.status_code == 404 and unknown.headers["Content-Type"].startswith("application/json")
    jsonschema.validate(unknown.json(), SCHEMAS["Error"])
    srv.finished_runs("greet", 2)
    assert srv.run(rerun)["status"] == "succeeded"
