"""jetnb's REST API and pages mounted in a real ``jupyter lab`` under ``/jetnb/``, as the Jupyter user.

No browser: ``requests`` with Jupyter's token, as a script would call it, and
with Jupyter's login cookie alone, as a browser does. One JupyterLab serves
the module; its store is ``.jetnb/jetnb.db`` under its root.
"""

from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from browser import Lab, jupyterlab, lab_log
from conftest import notebook

pytestmark = pytest.mark.slow

HELLO = [
    "%load_ext jetnb",
    "%%workflow\nname: hello\ndescription: Greets someone.\ntriggers:\n  - schedule: {cron: \"0 3 * * *\"}",
    ("params", "who: str = 'world'  # whom to greet\ntimes: int = 1"),
    "%%result\n{'greeting': 'hello ' + who, 'times': times}",
]
PLAIN = [("params", "x: int = 1"), "print(x)"]  # no %%workflow cell: not listed in the Lab


def gated(user: str) -> list[Any]:
    return [
        "%load_ext jetnb",
        f'%%workflow\nname: ship\nallow_self_approval: true\napprovers:\n  shippers: ["{user}"]',
        ("params", "parcel: str = 'P-1'"),
        '%%step send --approve shippers --message "Ship {parcel}?"\nsent = parcel',
        "%%result\n{'sent': sent}",
    ]


@pytest.fixture(scope="module", params=["/", "/user/ann/"])
def base_url(request: pytest.FixtureRequest) -> str:
    """Jupyter's base URL: every link and redirect must start with it (JupyterHub serves a user at /user/NAME/)."""
    return request.param


@pytest.fixture(scope="module")
def root(base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mount-root")
    notebook(HELLO, folder / "hello.ipynb")
    notebook(PLAIN, folder / "plain.ipynb")
    return folder


@pytest.fixture(scope="module")
def lab(root: Path, base_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    with jupyterlab(root, tmp_path_factory.mktemp("mount-home"), base_url=base_url) as lab:
        yield lab


@pytest.fixture(scope="module")
def http(lab: Lab) -> requests.Session:
    """Jupyter's token in every request; the session keeps Jupyter's login cookie, so one Jupyter user throughout."""
    session = requests.Session()
    session.headers["Authorization"] = f"token {lab.token}"
    return session


@pytest.fixture(scope="module")
def me(lab: Lab, http: requests.Session) -> str:
    answer = http.get(f"{lab.url}/jetnb/api/whoami", timeout=30)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["admin"] is False and body["user"]
    return body["user"]


def wait_for(lab: Lab, http: requests.Session, run_id: str, statuses: set[str], timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = http.get(f"{lab.url}/jetnb/api/runs/{run_id}", timeout=30).json()
        if run["status"] in statuses:
            return run
        time.sleep(0.3)
    raise AssertionError(f"run {run_id} is {run['status']}, not {statuses}, after {timeout}s:\n{lab_log(lab)}")


def test_the_api_answers_jupyter_users_only(lab, http, me):
    assert http.get(f"{lab.url}/jetnb/api/runs", timeout=30).status_code == 200
    anonymous = requests.get(f"{lab.url}/jetnb/api/runs", timeout=30)
    assert anonymous.status_code == 403 and anonymous.json() == {"error": "not logged in to Jupyter"}
    wrong = requests.get(f"{lab.url}/jetnb/api/runs", headers={"Authorization": "token nope"}, timeout=30)
    assert wrong.status_code == 403
    assert requests.get(f"{lab.url}/jetnb/api/health", timeout=30).json()["status"] == "ok"  # as in jetnb serve
    # jetnb serve's tokens mean nothing here: Jupyter decides who calls
    assert requests.get(f"{lab.url}/jetnb/api/runs?token=jetnb_x_y", timeout=30).status_code == 403


def test_pages_send_strangers_to_jupyters_login(lab):
    answer = requests.get(f"{lab.url}/jetnb/ui/runs", allow_redirects=False, timeout=30)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith(f"{lab.base_url}login?next=")
    assert quote(f"{lab.base_url}jetnb/ui/runs", safe="") in answer.headers["Location"]


def test_workflows_are_the_lab_roots_and_not_registered(lab, http, me):
    listed = http.get(f"{lab.url}/jetnb/api/workflows", timeout=30).json()["workflows"]
    assert [w["name"] for w in listed] == ["hello"]  # plain.ipynb has no %%workflow cell
    hello = listed[0]
    assert hello["paused"] is False
    assert [t["kind"] for t in hello["triggers"]] == ["schedule"] and hello["triggers"][0]["next_fire"]
    assert hello["triggers"][0]["registered_at"] is None  # no jetnb serve registered it; nothing fires from Lab
    # pausing needs a workflow some jetnb serve registered
    paused = http.post(f"{lab.url}/jetnb/api/workflows/hello/pause", json={}, timeout=30)
    assert paused.status_code == 409 and "jetnb serve" in paused.json()["error"]


def test_a_run_started_through_the_mounted_api_is_started_by_the_jupyter_user(lab, http, me):
    started = http.post(f"{lab.url}/jetnb/api/workflows/hello/runs", json={"params": {"who": "lab", "times": 2}},
                        timeout=30)
    assert started.status_code == 202, started.text
    body = started.json()
    assert body["url"] == f"{lab.base_url}jetnb/api/runs/{body['run_id']}"
    run = wait_for(lab, http, body["run_id"], {"succeeded", "failed"})
    assert run["status"] == "succeeded", run
    assert run["started_by"] == me and run["trigger"] == "api"
    assert run["result"] == {"greeting": "hello lab", "times": 2}
    log = http.get(f"{lab.url}/jetnb/api/runs/{run['id']}/log", timeout=30)
    assert log.status_code == 200 and log.headers["Content-Type"].startswith("application/x-ipynb+json")


def test_an_approval_decided_on_the_mounted_page_is_decided_by_the_jupyter_user(lab, http, me, root):
    notebook(gated(me), root / "ship.ipynb")
    deadline = time.monotonic() + 30  # the Lab hears of the new notebook from a file-system event
    while http.get(f"{lab.url}/jetnb/api/workflows/ship", timeout=30).status_code == 404:
        assert time.monotonic() < deadline
        time.sleep(0.1)
    started = http.post(f"{lab.url}/jetnb/api/workflows/ship/runs", json={"params": {"parcel": "P-9"}}, timeout=30)
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    wait_for(lab, http, run_id, {"waiting"})
    mine = http.get(f"{lab.url}/jetnb/api/approvals?for=me", timeout=30).json()["approvals"]
    request = next(a for a in mine if a["run_id"] == run_id)
    page = http.get(f"{lab.url}/jetnb/ui/approvals", timeout=30)
    assert page.status_code == 200 and f"Approve as {me}" in page.text
    decided = http.post(f"{lab.url}/jetnb/ui/approvals", data={"id": request["id"], "decision": "approve",
                                                                  "comment": "from the Lab page"},
                        allow_redirects=False, timeout=30)
    assert decided.status_code == 302 and decided.headers["Location"].startswith(f"{lab.base_url}jetnb/ui/approvals?message=")
    detail = http.get(f"{lab.url}/jetnb/api/approvals/{request['id']}", timeout=30).json()
    assert detail["status"] == "approved" and detail["decided_by"] == me and detail["comment"] == "from the Lab page"
    assert any(entry["actor"] == me for entry in detail["audit"])
    run = wait_for(lab, http, run_id, {"succeeded", "failed"})
    assert run["status"] == "succeeded" and run["result"] == {"sent": "P-9"}


def test_a_browsers_cookie_alone_needs_jupyters_xsrf_token(lab, http, me):
    browser = requests.Session()
    browser.cookies.update(http.cookies)  # the login cookie Jupyter set after the token, as a browser keeps it
    assert browser.get(f"{lab.url}/jetnb/api/whoami", timeout=30).json()["user"] == me
    forged = browser.post(f"{lab.url}/jetnb/api/workflows/hello/runs", json={}, timeout=30)
    assert forged.status_code == 403
    page = browser.get(f"{lab.url}/jetnb/ui/workflows/hello", timeout=30)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    started = browser.post(f"{lab.url}/jetnb/api/workflows/hello/runs", json={}, timeout=30,
                           headers={"X-XSRFToken": xsrf, "Origin": lab.url})
    assert started.status_code == 202, started.text
    run = wait_for(lab, http, started.json()["run_id"], {"succeeded", "failed"})
    assert run["started_by"] == me


def test_pages_render_with_links_under_the_mount(lab, http, me):
    mount = lab.base_url + "jetnb"
    seen: set[str] = set()
    todo = [f"{mount}/ui/workflows"]
    while todo and len(seen) < 40:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        page = http.get(lab.origin + path, timeout=30)
        assert page.status_code == 200, (path, page.text[:300])
        if "text/html" not in page.headers.get("Content-Type", ""):
            continue
        assert "Traceback (most recent" not in page.text
        for link in re.findall(r'(?:href|src|action)="([^"]+)"', page.text):
            assert link.startswith(mount + "/"), (path, link)
            if "/ui/" in link and "?" not in link and not link.endswith((".ipynb", "/cancel", "pause", "/start")):
                todo.append(link.replace("&amp;", "&"))
    assert {f"{mount}/ui/runs", f"{mount}/ui/approvals", f"{mount}/ui/workflows/hello"} <= seen
    assert any(p.startswith(f"{mount}/ui/runs/") for p in seen)


def test_the_run_form_on_the_mounted_page_starts_a_run_as_the_jupyter_user(lab, http, me):
    page = http.get(f"{lab.url}/jetnb/ui/workflows/hello", timeout=30)
    assert page.status_code == 200
    bad = http.post(f"{lab.url}/jetnb/ui/workflows/hello", data={"times": "many"}, allow_redirects=False,
                    timeout=30)
    assert bad.status_code == 422 and "times" in bad.text and "Traceback (most recent" not in bad.text
    started = http.post(f"{lab.url}/jetnb/ui/workflows/hello", data={"who": "form"}, allow_redirects=False,
                        timeout=30)
    assert started.status_code == 302 and started.headers["Location"].startswith(f"{lab.base_url}jetnb/ui/runs/")
    run = wait_for(lab, http, started.headers["Location"].rsplit("/", 1)[1], {"succeeded", "failed"})
    assert run["started_by"] == me and run["trigger"] == "web" and run["result"]["greeting"] == "hello form"


@pytest.mark.parametrize("method, path, body, status", [
    ("GET", "/jetnb/api/runs?limit=lots", None, 400),
    ("GET", "/jetnb/api/runs?status=bogus", None, 400),
    ("GET", "/jetnb/api/runs/no-such-run", None, 404),
    ("GET", "/jetnb/api/workflows/no-such", None, 404),
    ("POST", "/jetnb/api/workflows/hello/runs", b"{not json", 400),
    ("POST", "/jetnb/api/workflows/hello/runs", b'{"params": {"times": "x"}}', 422),
    ("POST", "/jetnb/api/approvals/99999/approve", b"{}", 404),
    ("POST", "/jetnb/api/approvals/99999999999999999999999/approve", b"{}", 404),
    ("GET", "/jetnb/api/no/such/endpoint", None, 404),
    ("POST", "/jetnb/hooks/hello", b"{}", 404),  # webhooks are jetnb serve's only
])
def test_bad_requests_get_one_line_json_errors(lab, http, me, method, path, body, status):
    answer = http.request(method, lab.url + path, data=body, timeout=30)
    assert answer.status_code == status, answer.text
    if path.startswith("/jetnb/api/"):
        error = answer.json()["error"]
        assert error and "\n" not in error and "Traceback (most recent" not in answer.text


@pytest.mark.parametrize("path, status", [
    ("/jetnb/ui/runs/no-such-run", 404), ("/jetnb/ui/workflows/no-such", 404),
    ("/jetnb/ui/runs?before=nope&status=bogus", 200),
])
def test_bad_page_requests_answer_without_a_traceback(lab, http, me, path, status):
    answer = http.get(lab.url + path, timeout=30)
    assert answer.status_code == status
    assert "Traceback (most recent" not in answer.text and 'File "' not in answer.text
    assert "Traceback (most recent" not in lab_log(lab)


def test_pages_show_whether_jetnb_serve_runs_and_start_one(lab, http, me):
    """Last: the jetnb serve started here registers the Lab's workflows in the store, so pausing works after."""
    page = http.get(f"{lab.url}/jetnb/ui/runs", timeout=30)
    assert 'id="serve-status" data-running="false"' in page.text and "schedules and webhooks do not fire" in page.text
    started = http.post(f"{lab.url}/jetnb/ui/server/start", data={"back": f"{lab.base_url}jetnb/ui/runs"}, allow_redirects=False,
                        timeout=30)
    assert started.status_code == 302 and started.headers["Location"] == f"{lab.base_url}jetnb/ui/runs"
    pid = None
    try:
        deadline = time.monotonic() + 90
        while 'data-running="true"' not in http.get(f"{lab.url}/jetnb/ui/runs", timeout=30).text:
            assert time.monotonic() < deadline, lab_log(lab)
            time.sleep(0.5)
        pid = http.get(f"{lab.url}/jetnb/lab/server", timeout=30).json()["pid"]
        # once jetnb serve has registered the workflow, the Lab's pages and API pause it, as the Jupyter user
        while True:
            paused = http.post(f"{lab.url}/jetnb/api/workflows/hello/pause", json={"reason": "lunch"}, timeout=30)
            if paused.status_code != 409 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        assert paused.status_code == 200 and paused.json()["paused"] is True, paused.text
        assert paused.json()["triggers"][0]["registered_at"]
        page = http.get(f"{lab.url}/jetnb/ui/workflows", timeout=30)
        assert "lunch" in page.text
        unpause = http.post(f"{lab.url}/jetnb/ui/workflows/hello/unpause", data={"back": f"{lab.base_url}jetnb/ui/workflows"},
                            allow_redirects=False, timeout=30)
        assert unpause.status_code == 302 and unpause.headers["Location"] == f"{lab.base_url}jetnb/ui/workflows"
        assert http.get(f"{lab.url}/jetnb/api/workflows/hello", timeout=30).json()["paused"] is False
    finally:
        pid = pid or http.get(f"{lab.url}/jetnb/lab/server", timeout=30).json()["pid"]
        if pid:
            os.kill(pid, signal.SIGTERM)
            _wait_gone(lab, http, pid)


def _wait_gone(lab: Lab, http: requests.Session, pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        http.get(f"{lab.url}/jetnb/lab/server", timeout=30)  # the Lab reaps the server it started
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
