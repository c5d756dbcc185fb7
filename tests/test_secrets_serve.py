"""Secrets through a real ``jetnb serve`` on 127.0.0.1: ``Secret`` parameters from the API and a webhook body, a
gate decided through the API and resumed by the server, a failing run; then no raw value in any answer, page,
CLI output, the server's log, or any file under the project (run logs, journals, the store, its WAL and SHM)."""

from __future__ import annotations

import hashlib
import signal

import pytest

from servekit import wait_for
from test_secrets_run import ENV_SECRET, FILE_SECRET

API_KEY = "key-API-81e2d4"
HOOK_KEY = "key-HOOK-77c3a9"
HOOK_SECRET = "whk-9d8c7b6a5f4e"
SERVER_TOKEN = "tok-serve-1b2c3d4e5f"
RAW = (ENV_SECRET, FILE_SECRET, API_KEY, HOOK_KEY, HOOK_SECRET, SERVER_TOKEN)  # and bob's token (`srv.raw`)
WITHHELD = ("MY_SECRET_TOKEN", "FILE_TOKEN", "JETNB_TOKEN", "JETNB_SECRETS_FILE", "HOOK_SECRET")

PAY = ["%load_ext jetnb",
       "%%workflow\nname: pay\nsecrets: [MY_SECRET_TOKEN, FILE_TOKEN]\n"
       "triggers:\n  - webhook: {name: pay, auth: token, secret_env: HOOK_SECRET}\n",
       ("params", "api_key: Secret = None\norder: int = 1\n"),
       "%%step probe\nimport hashlib, os, jetnb\nsha = lambda text: hashlib.sha256(text.encode()).hexdigest()\n"
       "token = jetnb.secret('MY_SECRET_TOKEN')\n"
       "get_ipython().kernel.log.warning(f'kernel log line with {token}')  # the kernel's stderr: the server's log\n"
       f"jetnb.output(env=sorted(n for n in {WITHHELD!r} if n in os.environ), key=sha(api_key))\n"
       "headers = {'Authorization': f'Bearer {api_key}', 'X-File': jetnb.secret('FILE_TOKEN')}\n",
       "%%step pay --approve bob --message 'Pay order {order} with {api_key}?'\n"
       "print('paying with', headers)\njetnb.output(after=sha(headers['Authorization']))\n"]
BOOM = ["%load_ext jetnb", "%%workflow\nname: boom\nsecrets: [MY_SECRET_TOKEN]\n",
        "%%step boom\nimport jetnb\nraise ValueError(f\"refused with token {jetnb.secret('MY_SECRET_TOKEN')}\")\n"]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def assert_masked(text: str, raw: list[str], where: str) -> None:
    assert [value for value in raw if value in text] == [], where


def leaks(project, raw: list[str]) -> dict[str, list[str]]:
    found = {}
    for path in project.rglob("*"):
        if path.is_file() and (hits := [v for v in raw if v.encode() in path.read_bytes()]):
            found[str(path.relative_to(project))] = hits
    return found


@pytest.fixture
def bob(user) -> str:
    """The personal token of bob, who decides the gates."""
    return user("bob")["JETNB_USER_TOKEN"]


@pytest.fixture
def srv(server, cli, tmp_path_factory):
    secrets_file = tmp_path_factory.mktemp("vault") / "secrets.json"
    env = {"JETNB_TOKEN": SERVER_TOKEN, "MY_SECRET_TOKEN": ENV_SECRET, "HOOK_SECRET": HOOK_SECRET,
           "JETNB_SECRETS_FILE": str(secrets_file)}
    assert cli("secrets", "set", "FILE_TOKEN", FILE_SECRET, env=env).returncode == 0
    made = server(env=env)
    made.workflow("pay", PAY)
    made.workflow("boom", BOOM)
    return made.start()


def test_secrets_never_leave_the_server(bob, srv, project):
    raw = [*RAW, bob]

    def api(method: str, path: str, **kw):
        return srv.api(method, path, token=SERVER_TOKEN, **kw)

    by_api = api("POST", "/api/workflows/pay/runs", json={"params": {"api_key": API_KEY, "order": 7}}).json()["run_id"]
    by_hook = srv.hook("pay", {"api_key": HOOK_KEY, "order": 8}, {"Authorization": f"Bearer {HOOK_SECRET}"})
    assert by_hook.status_code == 202, by_hook.text
    by_hook = by_hook.json()["run_id"]
    failed = api("POST", "/api/workflows/boom/runs", json={}).json()["run_id"]
    assert api("GET", f"/api/runs/{SERVER_TOKEN}").status_code == 404  # a refusal logged with the token in its path
    for run_id in (by_api, by_hook):
        wait_for(lambda: srv.run(run_id)["status"] == "waiting", f"run {run_id} to wait for approval")
    wait_for(lambda: srv.run(failed)["status"] == "failed", "the failing run")
    assert leaks(project, raw) == {}  # journals of the waiting runs, the store and its WAL, the log, so far

    approvals = api("GET", "/api/approvals").json()["approvals"]
    assert sorted(a["message"] for a in approvals) == ["Pay order 7 with ***?", "Pay order 8 with ***?"]
    assert [a["details"]["params"]["api_key"] for a in approvals] == ["***", "***"]
    for run_id, key in ((by_api, API_KEY), (by_hook, HOOK_KEY)):  # the kernel had the real values, and no other
        assert srv.run(run_id)["outputs"] == {"env": [], "key": sha(key)}
    for approval in approvals:
        assert srv.api("POST", f"/api/approvals/{approval['id']}/approve", json={}, token=bob).status_code == 200
    for run_id, key in ((by_api, API_KEY), (by_hook, HOOK_KEY)):
        done = wait_for(lambda: (run := srv.run(run_id))["status"] in ("succeeded", "failed") and run,
                        f"the server to resume {run_id}")
        assert done["status"] == "succeeded", done["error"]
        assert done["params"]["api_key"] == "***"
        assert done["outputs"]["after"] == sha(f"Bearer {key}")  # restored from the journal, unsealed
    assert srv.run(failed)["error"]["message"] == "refused with token ***"

    shown = {path: api("GET", path).text for path in (
        f"/api/runs/{by_api}", f"/api/runs/{by_hook}", f"/api/runs/{failed}", "/api/runs",
        f"/api/runs/{by_api}/log", f"/api/runs/{failed}/log", "/api/approvals?all=1",
        f"/api/approvals/{approvals[0]['id']}", "/api/workflows/pay")}
    shown.update({path: srv.api("GET", f"{path}?token={SERVER_TOKEN}", token=None).text for path in (
        f"/ui/runs/{by_api}", f"/ui/runs/{by_api}/notebook", f"/ui/runs/{failed}", "/ui/runs", "/ui/approvals")})
    for args in (("show", by_hook), ("show", failed, "--json"), ("runs", "--json"), ("approvals", "--all")):
        shown[" ".join(args)] = srv.cli(*args).stdout
    for where, text in shown.items():
        assert_masked(text, raw, where)
    assert '"api_key": "***"' in shown[f"/api/runs/{by_api}"] and "refused with token ***" in shown[f"/ui/runs/{failed}"]

    assert srv.stop(signal.SIGTERM) == 0
    log = srv.log()
    assert_masked(log, raw, "the server's log")
    assert "kernel log line with ***" in log and "GET /api/runs/***" in log
    assert leaks(project, raw) == {}
