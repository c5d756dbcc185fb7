"""Approvals through a real ``jetnb serve``: the REST API decides and the server resumes; a decision made with the
CLI in another process is picked up too."""

from __future__ import annotations

from servekit import wait_for

GATED = ["%load_ext jetnb", "%%workflow\nname: gated\napprovers:\n  managers: [alice, bob]",
         ("params", "amount: float = 10.0"),
         "%%step before\nimport os\nopen('before.txt', 'a').write('x')",
         '%%step pay --approve managers --message "Pay {amount:.2f}?"\npaid = amount',
         '%%result\n{"paid": paid if steps.pay.succeeded else None, "decision": steps.pay.decision.status}']


def test_decisions_through_the_api_and_the_cli_resume_runs(server, user):
    token = {name: user(name)["JETNB_USER_TOKEN"] for name in ("alice", "bob", "carol")}
    srv = server()
    srv.workflow("gated", GATED)
    srv.start()
    first = srv.api("POST", "/api/workflows/gated/runs", json={"params": {"amount": 5}}).json()["run_id"]
    wait_for(lambda: srv.run(first)["status"] == "waiting", "the first run to wait")
    listed = srv.api("GET", "/api/approvals?for=alice").json()["approvals"]
    assert [(a["run_id"], a["message"], a["status"]) for a in listed] == [(first, "Pay 5.00?", "pending")]
    assert srv.api("GET", "/api/approvals?for=carol").json()["approvals"] == []
    request = listed[0]["id"]

    refused = srv.api("POST", f"/api/approvals/{request}/approve", json={}, token=token["carol"])
    assert refused.status_code == 403 and "'carol' is not an approver" in refused.json()["error"]
    spoofed = srv.api("POST", f"/api/approvals/{request}/approve", json={"as": "alice"}, token=token["carol"])
    assert spoofed.status_code == 403 and "you are carol" in spoofed.json()["error"]
    assert srv.api("POST", "/api/approvals/999/approve", json={}, token=token["alice"]).status_code == 404
    decided = srv.api("POST", f"/api/approvals/{request}/approve", json={"comment": "ok"}, token=token["alice"])
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    assert decided.json()["decided_by"] == "alice"
    again = srv.api("POST", f"/api/approvals/{request}/reject", json={}, token=token["bob"])
    assert again.status_code == 403 and "already decided" in again.json()["error"]
    done = wait_for(lambda: (run := srv.run(first))["status"] == "succeeded" and run, "the server to resume it")
    assert done["result"] == {"paid": 5.0, "decision": "approved"}
    detail = srv.api("GET", f"/api/approvals/{request}").json()
    assert [e["action"] for e in detail["audit"]] == ["approval.requested", "approval.approved"]

    second = srv.api("POST", "/api/workflows/gated/runs", json={}).json()["run_id"]
    wait_for(lambda: srv.run(second)["status"] == "waiting", "the second run to wait")
    [pending] = srv.api("GET", "/api/approvals").json()["approvals"]
    assert srv.cli("reject", str(pending["id"]), env={"JETNB_USER_TOKEN": token["bob"]}).returncode == 0
    done = wait_for(lambda: (run := srv.run(second))["status"] == "succeeded" and run, "a CLI decision to resume it")
    assert done["result"] == {"paid": None, "decision": "rejected"}
    assert (srv.notebooks / "before.txt").read_text() == "xx"  # each run's first step ran once, not again on resume
