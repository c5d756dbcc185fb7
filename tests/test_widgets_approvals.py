"""ApprovalFeed and the clients' approvals, with real kernels, the real CLI, a real store and a real ``jetnb serve``.

Clicks are ``button.click()``; every wait is bounded and polls the store or
the widget.
"""

from __future__ import annotations

import pytest
from conftest import run_json
from servekit import TOKEN, wait_for
from test_widgets import TIMEOUT

from jetnb.model.params import ParameterError
from jetnb.store import Store
from jetnb.widgets import ApprovalFeed, LocalClient, ServerClient, ServerError
from jetnb.widgets.approval_feed import ApprovalRequest

GATED = [
    "%load_ext jetnb",
    "%%workflow\nname: ship\napprovers:\n  managers: [alice, bob]\nallow_self_approval: false",
    ("params", "order_id: int = 7  # the order to ship"),
    "%%step pack\npacked = [order_id]",
    '%%step send --approve managers --message "Ship order {order_id}?"\npacked.append("sent")',
    "%%result\n{'packed': packed, 'by': steps.send.decision.by}",
]


def stored(project, run_id: str) -> dict:
    store = Store(project / ".jetnb" / "jetnb.db")
    try:
        return store.get_run(run_id)
    finally:
        store.close()


def test_feed_lists_refuses_and_approves_and_the_run_resumes_in_the_background(make_nb, project, cli):
    make_nb("ship.ipynb", GATED)
    client = LocalClient()
    bob = ApprovalFeed("bob", client, refresh=0.2)
    assert bob.pending() == [] and "nothing waiting for bob" in bob.summary.value
    first = run_json(cli("run", "ship.ipynb", "--as", "alice", "--json"))
    assert first["status"] == "waiting"
    [request] = wait_for(bob.pending, "the new request to appear in bob's feed")
    shown = request.children[0].value
    for text in ("Ship order 7?", "workflow <code>ship</code>", "step <code>send</code>", first["id"],
                 "trigger manual", "started by alice", "approvers: alice, bob",
                 "&quot;workflow&quot;: &quot;ship&quot;"):
        assert text in shown

    dave = ApprovalFeed("dave", client)
    assert dave.pending() == [] and "nothing waiting for dave" in dave.summary.value
    forced = ApprovalRequest(request.approval, "dave", client)
    assert forced.decide(True) is None
    assert "'dave' is not an approver of request" in forced.message.value

    alice = ApprovalFeed("alice", client)
    [own] = alice.pending()
    own.approve_button.click()
    assert "'alice' started run" in own.message.value and not own.approve_button.disabled

    request.comment.value = "fine"
    request.approve_button.click()
    assert f"approved by bob</b> — run <code>{first['id']}</code> resuming" in request.message.value
    assert request.approve_button.disabled and request.reject_button.disabled
    wait_for(lambda: stored(project, first["id"])["status"] == "succeeded", "the resumed run to succeed")
    wait_for(lambda: (request.status.run or {}).get("status") == "succeeded", "the feed to show the run succeeded")
    assert stored(project, first["id"])["result"] == {"packed": [7, "sent"], "by": "bob"}
    assert "✓ succeeded in" in request.status.markdown

    second = run_json(cli("run", "ship.ipynb", "-p", "order_id", "8", "--json"))
    [new] = wait_for(bob.pending, "the second request to appear")
    assert "Ship order 8?" in new.children[0].value and request in bob.children, "a decided request stays"
    [approval] = client.list_approvals("bob")
    assert approval["run_id"] == second["id"] and approval["requested_at"].endswith("+00:00")
    assert cli("reject", str(approval["id"]), "--as", "alice").returncode == 0
    wait_for(lambda: not bob.pending(), "the request decided elsewhere to disappear")
    for feed in (bob, dave, alice):
        feed.stop()


def test_server_client_starts_a_run_and_the_feed_approves_it_through_the_server(server):
    srv = server()
    path = srv.workflow("ship", GATED)
    srv.start()
    client = ServerClient(srv.url, TOKEN)
    with pytest.raises(ServerError, match="wrong token"):
        ServerClient(srv.url, "nope").list_runs("ship")
    with pytest.raises(ParameterError) as bad:
        client.start_run("ship", {"order_id": "many"})
    assert bad.value.problems == ["parameter 'order_id': expected int, got 'many' (text: typed values are not parsed; "
                                  "give the value unquoted)"]

    run_id = client.start_run(path, {"order_id": 9})
    wait_for(lambda: client.get_run(run_id)["status"] == "waiting", "the run to wait for approval")
    assert [r["id"] for r in client.list_runs("ship")] == [run_id]
    feed = ApprovalFeed("bob", client, refresh=0.2)
    [request] = feed.pending()
    assert "Ship order 9?" in request.children[0].value and "trigger api" in request.children[0].value
    request.approve_button.click()
    assert f"approved by bob</b> — run <code>{run_id}</code> resuming" in request.message.value
    wait_for(lambda: srv.run(run_id)["status"] == "succeeded", "the server to resume and finish the run", TIMEOUT)
    assert srv.run(run_id)["result"] == {"packed": [9, "sent"], "by": "bob"}
    wait_for(lambda: (request.status.run or {}).get("status") == "succeeded", "the feed to show the run succeeded")
    wait_for(lambda: "nothing waiting for bob" in feed.summary.value, "the feed to empty")
    again = ApprovalRequest(request.approval, "bob", client)
    assert again.decide(False) is None and "already decided: approved by bob" in again.message.value
    feed.stop()
