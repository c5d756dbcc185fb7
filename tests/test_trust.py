"""Real identities and webhooks that cannot be replayed or steered, on a real ``jetnb serve`` on 127.0.0.1.

Two users with their own tokens, a spoofed ``as``, runs started by the API
and by a webhook, a replayed and a stale signed delivery, tokens kept out of
the server's log, redirects that stay on the site, and one server per store
whatever path names it.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import requests

from conftest import run_cli
from jetnb.signing import signed_headers
from servekit import TOKEN, Server, wait_for

GATED = ["%load_ext jetnb", """%%workflow
name: refund
approvers:
  managers: [bob]
allow_self_approval: false
triggers:
  - webhook: {name: refund, auth: hmac, secret_env: REFUND_SECRET, scheme: standard}
  - webhook: {name: github, auth: hmac, secret_env: REFUND_SECRET, scheme: github}
""", ("params", "order_id: int = 1\nnote: str = ''"),
         '%%step pay --approve managers --message "Refund order {order_id}?"\npaid = order_id',
         "%%result\n{'paid': paid, 'note': note}"]
SECRET = "whsec_" + "c2VjcmV0LWtleS1mb3Itd2ViaG9va3M="


def token_of(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 0, result.stderr
    return re.search(r"token: (\S+)", result.stdout).group(1)


def test_users_tokens_and_decisions_as_the_authenticated_user(server, project):
    alice = token_of(run_cli("users", "add", "alice", cwd=project))
    bob = token_of(run_cli("users", "add", "bob", "--group", "finance", cwd=project))
    listed = run_cli("users", "list", cwd=project).stdout
    assert "alice" in listed and "bob  groups: finance" in listed and alice not in listed and bob not in listed
    assert run_cli("users", "add", "alice", cwd=project).returncode == 2  # exists already
    assert alice.encode() not in (project / ".jetnb" / "jetnb.db").read_bytes()  # only a salted hash is kept

    srv = server(env={"REFUND_SECRET": SECRET})
    srv.workflow("refund", GATED)
    srv.start()
    assert srv.api("GET", "/api/whoami", token=alice).json() == {"user": "alice", "groups": [], "admin": False}
    assert srv.api("GET", "/api/whoami").json()["user"] == "admin"
    assert srv.api("GET", "/api/runs", token="jnb_nope_x").status_code == 401

    by_bob = srv.api("POST", "/api/workflows/refund/runs", json={"params": {"order_id": 5}}, token=bob).json()
    wait_for(lambda: srv.run(by_bob["run_id"])["status"] == "waiting", "bob's run to wait")
    assert srv.run(by_bob["run_id"])["started_by"] == "bob"  # the token's user, not the server's OS account
    [request] = srv.api("GET", "/api/approvals?for=me", token=bob).json()["approvals"]
    own = srv.api("POST", f"/api/approvals/{request['id']}/approve", json={}, token=bob)
    assert own.status_code == 403 and "forbids approving one's own runs" in own.json()["error"]
    spoofed = srv.api("POST", f"/api/approvals/{request['id']}/approve", json={"as": "bob"}, token=alice)
    assert spoofed.status_code == 403 and "you are alice" in spoofed.json()["error"]
    assert srv.api("GET", "/api/approvals?for=me", token=alice).json()["approvals"] == []

    by_alice = srv.api("POST", "/api/workflows/refund/runs", json={"params": {"order_id": 6}}, token=alice).json()
    wait_for(lambda: srv.run(by_alice["run_id"])["status"] == "waiting", "alice's run to wait")
    pending = {a["run_id"]: a for a in srv.api("GET", "/api/approvals?for=me", token=bob).json()["approvals"]}
    decided = srv.api("POST", f"/api/approvals/{pending[by_alice['run_id']]['id']}/approve",
                      json={"as": "bob", "comment": "ok"}, token=bob)
    assert decided.status_code == 200 and decided.json()["decided_by"] == "bob"
    done = wait_for(lambda: (r := srv.run(by_alice["run_id"]))["status"] == "succeeded" and r, "the run to resume")
    assert done["result"] == {"paid": 6, "note": ""}
    audit = srv.store().audit_log(f"approval:{pending[by_alice['run_id']]['id']}")
    assert [(e["action"], e["actor"]) for e in audit][-1] == ("approval.approved", "bob")

    rotated = token_of(run_cli("users", "rotate", "bob", cwd=project))
    assert srv.api("GET", "/api/whoami", token=bob).status_code == 401
    assert srv.api("GET", "/api/whoami", token=rotated).json()["user"] == "bob"
    assert run_cli("users", "remove", "alice", cwd=project).returncode == 0
    assert srv.api("GET", "/api/whoami", token=alice).status_code == 401
    assert srv.stop() == 0


def test_the_cli_acts_as_its_token_or_the_os_account(cli, project, make_nb, user):
    make_nb("gated.ipynb", GATED)
    waiting = json.loads(cli("run", "gated.ipynb", "--json", env=user("carol")).stdout)
    assert waiting["started_by"] == "carol"
    refused = cli("run", "gated.ipynb", "--as", "bob")  # a typed name is not an identity
    assert refused.returncode == 2 and "a typed name cannot act for 'bob'" in refused.stderr
    approvals = json.loads(cli("approvals", "--json").stdout)
    bad_token = cli("approve", str(approvals[0]["id"]), env={"JETNB_USER_TOKEN": "jnb_0000_nope"})
    assert bad_token.returncode == 2 and "not the token of any user" in bad_token.stderr
    assert cli("approve", str(approvals[0]["id"]), "--as", "bob", env=user("bob")).returncode == 0


def test_signed_webhooks_refuse_replays_and_stale_deliveries(server):
    srv = server(env={"REFUND_SECRET": SECRET})
    srv.workflow("refund", GATED)
    srv.start()
    body = json.dumps({"order_id": 7}).encode()
    headers = signed_headers(SECRET, "msg_1", body)
    first = srv.hook("refund?note=steered", body, headers)
    assert first.status_code == 202, first.text
    again = srv.hook("refund", body, headers)  # the sender's retry: same id
    assert again.status_code == 200 and again.json()["duplicate"] is True
    new_id = srv.hook("refund", body, {**headers, "webhook-id": "msg_2"})  # captured, replayed under a new id
    assert new_id.status_code == 401 and "does not match" in new_id.json()["error"]
    stale = srv.hook("refund", body, signed_headers(SECRET, "msg_3", body, timestamp=int(time.time()) - 3600))
    assert stale.status_code == 401 and "timestamp" in stale.json()["error"]
    future = srv.hook("refund", body, signed_headers(SECRET, "msg_4", body, timestamp=int(time.time()) + 3600))
    assert future.status_code == 401 and "timestamp" in future.json()["error"]
    unsigned = srv.hook("refund", body, {"X-Hub-Signature-256": "sha256=00"})  # scheme: standard only
    assert unsigned.status_code == 401

    run = wait_for(lambda: (r := srv.run(first.json()["run_id"]))["status"] == "waiting" and r, "the hook's run")
    assert run["started_by"] == "webhook:refund" and run["params"] == {"order_id": 7}  # the query string was ignored
    assert run["trigger_detail"]["delivery_id"] == "msg_1"
    assert srv.stop() == 0


def test_tokens_stay_out_of_the_log_and_redirects_stay_on_the_site(server, user):
    alice = user("alice")["JETNB_USER_TOKEN"]
    srv = server()
    srv.workflow("refund", GATED)
    srv.start()
    assert requests.get(f"{srv.url}/ui/runs/nope?token={TOKEN}", timeout=30).status_code == 404
    assert requests.get(f"{srv.url}/api/runs/nope?token={alice}", timeout=30).status_code == 404
    assert requests.get(f"{srv.url}/nowhere?token={TOKEN}", timeout=30).status_code == 404
    session = requests.Session()
    login = session.get(f"{srv.url}/ui/login", timeout=30)
    xsrf = re.search(r'name="_xsrf" value="([^"]+)"', login.text).group(1)
    signed_in = session.post(f"{srv.url}/ui/login", data={"_xsrf": xsrf, "token": alice,
                                                          "next": "//evil.example/x"},
                             allow_redirects=False, timeout=30)
    assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/ui/workflows"
    page = session.get(f"{srv.url}/ui/workflows", timeout=30)
    form_xsrf = re.search(r'name="_xsrf" value="([^"]+)"', page.text).group(1)
    for target in ("https://evil.example/", "//evil.example", "/\\evil.example"):
        moved = session.post(f"{srv.url}/ui/workflows/refund/pause", data={"_xsrf": form_xsrf, "back": target},
                             allow_redirects=False, timeout=30)
        assert moved.status_code == 302 and moved.headers["Location"] == "/ui/workflows", target
    assert srv.store().workflow_state("refund")["paused"] is True
    assert srv.store().audit_log("workflow:refund", action="workflow.pause")[-1]["actor"] == "alice"
    assert srv.stop() == 0
    log = srv.log()
    assert TOKEN not in log and alice not in log and "404 GET /ui/runs/nope" in log


def test_one_server_per_store_whatever_path_names_it(server, project):
    srv = server()
    srv.workflow("refund", GATED)
    srv.start()
    (project / "alias").symlink_to(project / ".jetnb")
    for store in (project / "alias" / "jetnb.db", "./.jetnb/../.jetnb/jetnb.db"):
        second = subprocess.run([sys.executable, "-m", "jetnb", "serve", "notebooks", "--port", "0", "--store",
                                 str(store)], cwd=project, capture_output=True, text=True, timeout=60,
                                env={**os.environ, "JETNB_TOKEN": TOKEN})
        assert second.returncode == 2 and "another `jetnb serve` is using the store" in second.stderr, second.stderr
    assert srv.stop() == 0


def test_a_second_server_is_told_even_through_a_relative_path(project):
    """A store path given relative to another folder is resolved before the lock is taken."""
    first = Server(project)
    first.workflow("refund", GATED)
    try:
        first.start()
        elsewhere = project / "elsewhere"
        elsewhere.mkdir()
        second = subprocess.run([sys.executable, "-m", "jetnb", "serve", "../notebooks", "--port", "0", "--store",
                                 "../.jetnb/jetnb.db"], cwd=elsewhere, capture_output=True, text=True, timeout=60,
                                env={**os.environ, "JETNB_TOKEN": TOKEN})
        assert second.returncode == 2 and "another `jetnb serve`" in second.stderr
    finally:
        first.close()
