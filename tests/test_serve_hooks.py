"""Webhooks on a real ``jetnb serve``: authentication, every refusal, the body limit, delivery ids, sync answers."""

from __future__ import annotations

import hashlib
import hmac
import json

from servekit import wait_for

SECRET, TOKEN = "s3cret", "t0ken"
ENV = {"HOOK_SECRET": SECRET, "HOOK_TOKEN": TOKEN}

ORDERS = ["%load_ext jetnb", """%%workflow
name: orders
triggers:
  - webhook: {name: signed, auth: hmac, secret_env: HOOK_SECRET}
  - webhook: {name: bearer, auth: token, secret_env: HOOK_TOKEN, delivery_header: X-Request-Id}
  - webhook: {name: open, auth: none, response: sync, max_body: 200, params: {note: from-trigger}}
  - webhook: {name: nosecret, auth: token, secret_env: JETNB_TEST_UNSET}
concurrency: 4
""", ("params", "order_id: int = 0  # the order\nnote: str = ''\nfail: bool = False"),
          "%%step check\nif fail:\n    raise ValueError(f'order {order_id} refused')",
          "%%result\n{'order_id': order_id, 'note': note}"]

SLOW = ["%load_ext jetnb", """%%workflow
name: slow
triggers:
  - webhook: {name: slow, auth: none, response: sync, timeout: 1s}
""", "%%step wait\nimport time\nfrom pathlib import Path\ndeadline = time.monotonic() + 60\n"
     "while not Path('../release').exists() and time.monotonic() < deadline:\n    time.sleep(0.05)"]


def signed(body: bytes, prefix: str = "sha256=", secret: str = SECRET) -> dict[str, str]:
    return {"X-Hub-Signature-256": prefix + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def test_webhook_auth_and_each_refusal(server):
    srv = server(env=ENV)
    srv.workflow("orders", ORDERS)
    srv.start()
    body = json.dumps({"order_id": 42}).encode()
    accepted = [srv.hook("signed", body, signed(body)), srv.hook("signed", body, signed(body, prefix="")),
                srv.hook("bearer", body, {"Authorization": f"Bearer {TOKEN}"}),
                srv.hook("bearer?order_id=7&note=query", b"", {"Authorization": f"Bearer {TOKEN}"}),
                srv.hook("signed?order_id=7&note=query", b"{}", signed(b"{}"))]
    assert [r.status_code for r in accepted] == [202, 202, 202, 202, 202], [r.text for r in accepted]
    assert all(r.json()["status"] == "queued" and r.json()["run_id"] for r in accepted)

    refusals = {
        "wrong signature": srv.hook("signed", body, signed(body, secret="guess")),
        "signature of another body": srv.hook("signed", b'{"order_id": 43}', signed(body)),
        "no signature": srv.hook("signed", body),
        "wrong token": srv.hook("bearer", body, {"Authorization": "Bearer nope"}),
        "no token": srv.hook("bearer", body),
        "secret not set on the server": srv.hook("nosecret", body, {"Authorization": "Bearer "}),
    }
    assert {k: r.status_code for k, r in refusals.items()} == {k: 401 for k in refusals}
    assert refusals["no signature"].json() == {"error": "missing or wrong signature in X-Hub-Signature-256"}
    assert "JETNB_TEST_UNSET is not set" in srv.log()
    assert srv.hook("nope", body).status_code == 404
    assert srv.hook("nope", body).json() == {"error": "no webhook named 'nope'"}

    too_big = srv.hook("open", json.dumps({"note": "x" * 300}))
    assert too_big.status_code == 413 and "at most 200" in too_big.json()["error"]
    malformed = srv.hook("open", b'{"order_id": ')
    assert malformed.status_code == 400 and malformed.json()["error"] == "malformed JSON: line 1 column 14: Expecting value"
    not_object = srv.hook("open", b"[1, 2]")
    assert not_object.status_code == 400 and not_object.json()["error"] == "expected a JSON object, got list"
    bad = srv.hook("open", {"order_id": "abc", "ordr": 1})
    assert bad.status_code == 422 and bad.json()["error"] == "bad parameters"
    assert bad.json()["problems"] == ["parameter 'order_id': expected int, got 'abc' (text: typed values are not "
                                      "parsed; give the value unquoted)",
                                      "unknown parameter 'ordr' (did you mean 'order_id'?); declared: order_id, "
                                      "note, fail"]

    runs = srv.finished_runs("orders", 5)
    assert {r["id"] for r in runs} == {r.json()["run_id"] for r in accepted}  # refused requests recorded nothing
    by_id = {r["id"]: r for r in runs}
    assert by_id[accepted[0].json()["run_id"]]["params"] == {"order_id": 42}
    assert by_id[accepted[3].json()["run_id"]]["params"] == {"order_id": 7, "note": "query"}  # text, parsed by type
    assert by_id[accepted[4].json()["run_id"]]["params"] == {}  # a signed hook's query string is not signed: ignored
    assert all(r["trigger"] == "webhook" and r["status"] == "succeeded" for r in runs)
    assert by_id[accepted[2].json()["run_id"]]["trigger_detail"] == {"hook": "bearer", "delivery_id": None}
    assert srv.stop() == 0


def test_sync_webhook_answers_with_the_result_or_the_error(server, project):
    srv = server(env=ENV)
    srv.workflow("orders", ORDERS)
    srv.workflow("slow", SLOW)
    srv.start()
    ok = srv.hook("open", {"order_id": 5})
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"run_id": ok.json()["run_id"], "status": "succeeded",
                         "result": {"order_id": 5, "note": "from-trigger"}, "error": None}
    failed = srv.hook("open", {"order_id": 6, "fail": True})
    assert failed.status_code == 500
    assert failed.json()["status"] == "failed" and failed.json()["result"] is None
    assert failed.json()["error"]["type"] == "ValueError" and failed.json()["error"]["message"] == "order 6 refused"
    late = srv.hook("slow", b"")  # waits for its timeout (1s), then answers with what it knows
    assert late.status_code == 202 and late.json()["status"] in ("queued", "running")
    (project / "release").touch()
    assert srv.finished_runs("slow", 1)[0]["id"] == late.json()["run_id"]
    assert srv.stop() == 0


def test_retried_deliveries_start_no_second_run(server):
    srv = server(env=ENV)
    srv.workflow("orders", ORDERS)
    srv.start()
    body = json.dumps({"order_id": 1}).encode()
    github = {**signed(body), "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
    first = srv.hook("signed", body, github)
    again = srv.hook("signed", body, github)
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["run_id"] == first.json()["run_id"] and again.json()["duplicate"] is True
    generic = srv.hook("signed", body, {**signed(body), "X-Delivery-Id": "d-1"})
    assert generic.json()["run_id"] != first.json()["run_id"]
    assert srv.hook("signed", body, {**signed(body), "X-Delivery-Id": "d-1"}).json()["run_id"] == \
        generic.json()["run_id"]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    configured = srv.hook("bearer", body, {**auth, "X-Request-Id": "r-1", "X-Delivery-Id": "d-1"})
    assert configured.status_code == 202  # this hook reads X-Request-Id only
    srv.finished_runs("orders", 3)
    assert srv.stop() == 0

    srv.start()  # the record of deliveries outlives the server
    retried = srv.hook("bearer", body, {**auth, "X-Request-Id": "r-1"})
    assert retried.status_code == 200 and retried.json()["run_id"] == configured.json()["run_id"]
    assert retried.json()["status"] == "succeeded"
    assert srv.hook("signed", body, github).json()["run_id"] == first.json()["run_id"]
    assert len(srv.runs("orders")) == 3
    assert wait_for(lambda: srv.events(kind="duplicate"), "duplicate events")
    assert srv.stop() == 0
