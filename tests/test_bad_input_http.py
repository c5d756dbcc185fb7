"""The bad-input corpus over HTTP: API bodies, query strings and ids, webhook bodies, headers and query strings, and
the web form, against one real ``jetnb serve``. Hand-picked cases plus generated ones (hypothesis).

Every case must get a 4xx that names the field or parameter, never a Python
traceback; nothing is recorded; the server keeps answering and the store
still opens. The count of cases is printed at the end of the module.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from servekit import TOKEN, Server
from jetnb.store import Store

TYPED = ["%load_ext jetnb", """%%workflow
name: typed
triggers:
  - webhook: {name: open, auth: none}
  - webhook: {name: bearer, auth: token, secret_env: HOOK_TOKEN}
  - webhook: {name: signed, auth: hmac, secret_env: HOOK_TOKEN}
""", ("params", "count: int = 1  # how many\nratio: float = 0.5\nflag: bool = False\nitems: list = []\n"
                "options: dict = {}\nlabel: str = 'x'"),
         "%%result\n{'count': count}"]
COUNTED: list[str] = []
TRACE = re.compile(r"Traceback|File \"/|line \d+, in ")


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Any:
    project = tmp_path_factory.mktemp("bad-http")
    server = Server(project, env={"HOOK_TOKEN": "t0ken"})
    server.workflow("typed", TYPED)
    server.start()
    yield server
    print(f"\nbad-input corpus over HTTP: {len(COUNTED)} cases")
    assert server.api("GET", "/api/health").status_code == 200
    assert server.stop() == 0


def check(srv: Any, case: str, response: requests.Response, *, statuses: tuple[int, ...],
          names: tuple[str, ...] = ()) -> None:
    """A 4xx from ``statuses``, JSON with an error naming one of ``names``, no traceback, nothing recorded."""
    COUNTED.append(case)
    assert response.status_code in statuses, (case, response.status_code, response.text[:300])
    assert not TRACE.search(response.text), (case, response.text[:500])
    if response.headers.get("Content-Type", "").startswith("application/json"):
        answer = response.json()
        text = json.dumps(answer)
        assert "error" in answer, (case, text[:300])
        if names:
            assert any(name in text for name in names), (case, names, text[:300])
    store = Store(srv.project / ".jetnb" / "jetnb.db")
    try:
        assert store.list_runs(limit=1) == [], (case, "a run was recorded")
    finally:
        store.close()


def post_run(srv: Any, body: Any, raw: bool = False) -> requests.Response:
    data = body if raw else json.dumps(body)
    return srv.api("POST", "/api/workflows/typed/runs", data=data, headers={"Content-Type": "application/json"})


WRONG = {  # each parameter with values of the wrong type, as typed JSON
    "count": ["1", 1.5, True, [1], {"a": 1}, None, "abc", 10**30],
    "ratio": ["0.5", [0.5], {"x": 1}, None, True],
    "flag": ["yes", 1, 0.0, [], None],
    "items": ["abc", "a,b", 3, {"a": 1}, None, True],
    "options": ["abc", [1, 2], 3, None, "{}"],
    "label": [1, 2.5, [], {}, True],
}


@pytest.mark.parametrize("name,value", [(n, v) for n, vs in WRONG.items() for v in vs])
def test_api_wrong_typed_values_are_422_naming_the_parameter(srv, name, value):
    check(srv, f"api {name}={value!r}", post_run(srv, {"params": {name: value}}), statuses=(422,),
          names=(f"parameter '{name}'",))


BODIES = [
    (b"{", "truncated JSON", 400), (b"[1, 2]", "an array", 400), (b'"text"', "a string", 400),
    (b"\xff\xfe", "not UTF-8", 400), (b'{"params": [1]}', "params an array", 400),
    (b'{"params": "x"}', "params a string", 400), (b'{"params": {"count": NaN}}', "NaN", 400),
    (b'{"params": {"count": Infinity}}', "Infinity", 400),
    (b'{"params": {"count": ' + b"9" * 5000 + b"}}", "a 5000-digit integer", 400),
    (b'{"params": {"items": ' + b"[" * 100_000 + b"]" * 100_000 + b"}}", "nested 100,000 deep", 400),
    (b'{"params": {"nope": 1}}', "an unknown parameter", 422),
    (b'{"params": {"items": "' + b"x" * 2_000_000 + b'"}}', "a 2 MB value", 422),
    (b'{"params": {"count": 1, "count": "two"}}', "a duplicate key, the last wins", 422),
    (b'{"params": {"\\u0000": 1}}', "a NUL in a name", 422),
]


@pytest.mark.parametrize("body,why,status", BODIES, ids=[b[1] for b in BODIES])
def test_api_malformed_bodies(srv, body, why, status):
    check(srv, f"api body: {why}", post_run(srv, body, raw=True), statuses=(status,))


IDS = ["nope", "x" * 5000, "../../etc/passwd", "%2e%2e%2f", "1; DROP TABLE runs", "\u2603", "%00", "20261201-",
       "' OR '1'='1"]


@pytest.mark.parametrize("ref", IDS)
def test_api_run_ids(srv, ref):
    for method, path in (("GET", f"/api/runs/{ref}"), ("GET", f"/api/runs/{ref}/log"),
                         ("POST", f"/api/runs/{ref}/cancel"), ("POST", f"/api/runs/{ref}/rerun"),
                         ("POST", f"/api/runs/{ref}/resume")):
        check(srv, f"{method} {path[:60]}", srv.api(method, path, json={}), statuses=(404, 400))


@pytest.mark.parametrize("ref", ["0", "9" * 30, "18446744073709551616", "1" + "0" * 4400, "00042"])
def test_api_approval_ids(srv, ref):
    check(srv, f"approval {ref[:20]}", srv.api("GET", f"/api/approvals/{ref}"), statuses=(404,))
    check(srv, f"decide {ref[:20]}", srv.api("POST", f"/api/approvals/{ref}/approve", json={}), statuses=(404,))


@pytest.mark.parametrize("query,field", [("limit=abc", "limit"), ("limit=-1", "limit"), ("limit=0", "limit"),
                                         ("limit=" + "9" * 40, "limit"), ("limit=1e3", "limit"),
                                         ("status=bogus", "status"), ("before=nope", "before"),
                                         ("status=" + "x" * 3000, "status")])
def test_api_run_list_queries(srv, query, field):
    check(srv, f"runs?{query[:40]}", srv.api("GET", f"/api/runs?{query}"), statuses=(400,), names=(field,))


@pytest.mark.parametrize("name", ["nope", "x" * 3000, "..", "typed%2F..", "\u00e9t\u00e9", "%20"])
def test_api_workflow_names(srv, name):
    check(srv, f"workflow {name[:30]}", srv.api("POST", f"/api/workflows/{name}/runs", json={}),
          statuses=(404, 405))  # requests normalises "/workflows/../runs" to "/runs", which takes no POST
    check(srv, f"workflow {name[:30]} detail", srv.api("GET", f"/api/workflows/{name}"), statuses=(404,))


@pytest.mark.parametrize("query,name", [("items=abc", "items"), ("items=a: %26a [*a, *a]", "items"),
                                        ("options=abc", "options"), ("options=[1]", "options"),
                                        ("count=abc", "count"), ("count=1_000", "count"), ("count=nan", "count"),
                                        ("flag=maybe", "flag"), ("ratio=inf", "ratio"),
                                        ("items=" + "[" * 5000, "items"), ("unknown=1", "unknown")])
def test_webhook_query_strings_are_text_parsed_by_type(srv, query, name):
    response = requests.post(f"{srv.url}/hooks/open?{query}", data=b"{}", timeout=30)
    check(srv, f"hook ?{query[:40]}", response, statuses=(422,), names=(f"'{name}'",))


@pytest.mark.parametrize("body,status", [(b"{", 400), (b"[]", 400), (b'{"count": "1"}', 422),
                                         (b'{"count": ' + b"9" * 5000 + b"}", 400),
                                         (b'{"items": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", 400),
                                         (b"\x00\x01\x02", 400), (b'{"count": 1.5}', 422)])
def test_webhook_bodies(srv, body, status):
    check(srv, f"hook body {body[:20]!r}", requests.post(f"{srv.url}/hooks/open", data=body, timeout=30),
          statuses=(status,))


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer"}, {"Authorization": "Bearer " + "x" * 10_000},
                                     {"Authorization": "Basic dDBrZW4="}, {"Authorization": "Bearer t0ken\u00e9"},
                                     {"X-Hub-Signature-256": "sha256=zz"}, {"webhook-signature": "v1,abc"},
                                     {"webhook-id": "x", "webhook-timestamp": "nan", "webhook-signature": "v1,a"},
                                     {"webhook-id": "x", "webhook-timestamp": "9" * 40, "webhook-signature": "v1,a"}])
def test_webhook_headers(srv, headers):
    for hook in ("bearer", "signed"):
        response = requests.post(f"{srv.url}/hooks/{hook}", data=b"{}", headers={
            k: v.encode("utf-8") if isinstance(v, str) else v for k, v in headers.items()}, timeout=30)
        check(srv, f"hook {hook} headers {list(headers)}", response, statuses=(401,))


def _session(srv: Any) -> tuple[requests.Session, str]:
    session = requests.Session()
    page = session.get(f"{srv.url}/ui/workflows/typed?token={TOKEN}", timeout=30)
    return session, re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)


@pytest.mark.parametrize("field,value", [("count", "two"), ("count", "1.5"), ("ratio", "abc"), ("items", "abc"),
                                         ("items", "&a [*a]"), ("options", "[1, 2]"), ("flag", "perhaps"),
                                         ("count", "9" * 5000), ("items", "[" * 3000)])
def test_web_form_values(srv, field, value):
    session, xsrf = _session(srv)
    response = session.post(f"{srv.url}/ui/workflows/typed", data={"_xsrf": xsrf, field: value}, timeout=30)
    check(srv, f"form {field}={value[:20]}", response, statuses=(422,))
    assert "field-error" in response.text and f"parameter &#x27;{field}&#x27;" in response.text


JSON_LEAVES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                        st.text(max_size=20))
JSON_VALUES = st.recursive(JSON_LEAVES, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
    st.text(max_size=8), inner, max_size=4), max_leaves=20)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(value=JSON_VALUES.filter(lambda v: not (isinstance(v, int) and not isinstance(v, bool))
                                and not (isinstance(v, float) and v.is_integer())))  # 2.0 is the whole number 2
def test_generated_values_for_an_int_are_refused(srv, value):
    check(srv, f"generated count={value!r}"[:80], post_run(srv, {"params": {"count": value}}), statuses=(422,),
          names=("parameter 'count'",))


def _json_object(body: bytes) -> bool:
    try:
        return isinstance(json.loads(body), dict)
    except ValueError:
        return not body.strip()  # an empty body is an empty object


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.binary(min_size=1, max_size=200).filter(lambda b: not _json_object(b)))
def test_generated_webhook_bodies_never_crash(srv, body):
    response = requests.post(f"{srv.url}/hooks/open", data=body, timeout=30)
    check(srv, f"generated hook body {body[:20]!r}", response, statuses=(400,))
