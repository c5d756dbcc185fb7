"""Declared notifications with real receivers on 127.0.0.1: a Slack-like capture server, an aiosmtpd SMTP server,
``jetnb serve`` and ``jetnb run``. What arrives is the rendered text; every call is an action row of its run; a
failing notification is recorded and never changes the run's status; secrets are read by name and shown nowhere."""

from __future__ import annotations

import json
from email.message import EmailMessage
from pathlib import Path

from servekit import Server, wait_for
from test_actions_email import smtp_server  # noqa: F401  (a fixture)
from test_actions_http import Answer, CaptureServer, capture  # noqa: F401

from conftest import REPO
from jetnb import signing

FIXTURES = REPO / "tests" / "fixtures"
WHSEC = "whsec_c2VjcmV0LWtleS1mb3Itbm90aWZ5"

NIGHTLY = ["%load_ext jetnb", r"""%%workflow
name: nightly
pause_after_failures: 2
on_error:
  - slack: {webhook_url_secret: SLACK_WEBHOOK, text: "{workflow} failed at {step}: {error} (order {params.order_id}) {run_url}"}
  - email: {to: ops@example.com, subject: "{workflow} failed", body: "{error_type}: {error}\n{run_url}", smtp_url_secret: SMTP_URL}
on_success:
  - webhook: {url_secret: BROKEN_HOOK, payload: {run: "{run_id}"}, retries: 0}
on_pause:
  - tell.ipynb
  - email: {to: ops@example.com, subject: "{workflow} paused", body: "{reason}\nlast run: {run_url}", smtp_url_secret: SMTP_URL}
""", ("params", "order_id: int = 7\nfail: bool = False"),
           "%%step fetch\nif fail:\n    raise RuntimeError(f'source down for order {order_id}')"]

TELL = ["%load_ext jetnb", ("params", "workflow: str = ''\nfailures: int = 0"), "%%result\n[workflow, failures]"]

REFUND = ["%load_ext jetnb", r"""%%workflow
name: refund
approvers:
  managers: [ada@example.com, bob@example.com]
notify_approvers:
  email: {to: "{approvers}", subject: "Approval needed: {workflow}", body: "{message}\n{approvals_url}", smtp_url_secret: SMTP_URL}
""", ("params", "order_id: int = 1001"),
          '%%step refund --approve managers --message "Refund order {order_id}?"\nprint("refunded")']


def text(message: EmailMessage) -> str:
    return message.get_content().replace("\r\n", "\n").strip()


def actions(srv: Server, run_id: str, count: int) -> list[dict]:
    """Wait until the run has ``count`` action rows (they are written after its status)."""
    def rows() -> list[dict] | None:
        store = srv.store()
        try:
            found = store.actions(run_id)
        finally:
            store.close()
        return found if len(found) >= count else None

    return wait_for(rows, f"{count} action row(s) of run {run_id}")


def test_serve_sends_declared_notifications_and_records_each_without_changing_the_run(server, capture, smtp_server):
    inbox, port = smtp_server(auth_require_tls=False)
    capture.script(Answer(500, "hook is down", {"Content-Type": "text/plain"}))  # the on_success webhook
    srv = server(env={"SLACK_WEBHOOK": capture.url("/services/T0SECRET/B0SECRET/XXSECRETXX"),
                      "SMTP_URL": f"smtp://127.0.0.1:{port}?starttls=never&from=jetnb%40example.com",
                      "BROKEN_HOOK": capture.url("/hooks/catch/T0SECRET/broken/")})
    srv.workflow("nightly", NIGHTLY)
    srv.workflow("tell", TELL)
    srv.workflow("refund", REFUND)
    srv.start()

    ok = srv.api("POST", "/api/workflows/nightly/runs", json={}).json()["run_id"]
    [failed_hook] = actions(srv, ok, 1)
    assert srv.run(ok)["status"] == "succeeded"  # the failing notification changed nothing
    assert (failed_hook["action"], failed_hook["status"], failed_hook["step"]) == ("webhook.send", "failed", None)
    assert failed_hook["detail"]["on"] == "success" and failed_hook["detail"]["declared"] == "on_success[0].webhook"
    assert failed_hook["error"]["type"] == "HTTPStatusError" and "T0SECRET" not in json.dumps(failed_hook)
    assert "on_success[0].webhook) failed: HTTPStatusError" in srv.log()

    runs = []
    for order, rows in ((41, 2), (42, 3)):  # the second failure also pauses the workflow: on_pause is a row too
        run_id = srv.api("POST", "/api/workflows/nightly/runs", json={"params": {"fail": True, "order_id": order}}
                         ).json()["run_id"]
        runs.append(run_id)
        actions(srv, run_id, rows)
    slack = [json.loads(seen.body) for seen in capture.seen if seen.path.startswith("/services/")]
    assert slack == [{"text": f"nightly failed at fetch: source down for order {order} (order {order}) "
                              f"{srv.url}/ui/runs/{run_id}"} for order, run_id in zip((41, 42), runs)]
    mails = [m for m in inbox.messages if m["Subject"] == "nightly failed"]
    assert [text(m) for m in mails] == [
        f"RuntimeError: source down for order {order}\n{srv.url}/ui/runs/{run_id}" for order, run_id in
        zip((41, 42), runs)]
    rows = actions(srv, runs[1], 3)
    assert [(r["action"], r["status"], r["detail"]["on"]) for r in rows] == [
        ("email.send", "succeeded", "pause"), ("slack.send", "succeeded", "error"), ("email.send", "succeeded", "error")]
    paused = next(m for m in inbox.messages if m["Subject"] == "nightly paused")
    assert text(paused).startswith(f"2 consecutive failed runs (the last, {runs[1]}: RuntimeError: source "
                                           "down for order 42)\nlast run: " + f"{srv.url}/ui/runs/{runs[1]}")
    assert [srv.run(r)["status"] for r in runs] == ["failed", "failed"]
    told = srv.finished_runs("tell", 1)[0]  # the notebook in the on_pause list still runs
    assert told["trigger"] == "on_pause" and told["result"] == ["nightly", 2]
    shown = srv.cli("show", runs[0]).stdout
    assert "✓ slack.send 127.0.0.1:" in shown and "[on error]" in shown

    gate = srv.api("POST", "/api/workflows/refund/runs", json={}).json()["run_id"]
    [told] = actions(srv, gate, 1)
    assert (told["action"], told["status"], told["detail"]["on"]) == ("email.send", "succeeded", "approval")
    ask = next(m for m in inbox.messages if m["Subject"] == "Approval needed: refund")
    assert ask["To"] == "ada@example.com, bob@example.com"
    assert text(ask) == f"Refund order 1001?\n{srv.url}/ui/approvals"
    assert srv.run(gate)["status"] == "waiting"
    log = srv.log()
    assert "T0SECRET" not in log and f"127.0.0.1:{port}?" not in log
    assert srv.stop() == 0


SIGNED = ["%load_ext jetnb", """%%workflow
name: signed
on_success:
  - webhook: {url_secret: ZAPIER_HOOK, secret_secret: ZAPIER_SIGNING, payload: {run: "{run_id}", result: "{result}", by: "{started_by}", order: "{params.order_id}"}}
actions:
  page: {slack: {webhook_url_secret: SLACK_WEBHOOK, text: "{step} failed: {error_type}: {error} ({params.order_id})"}}
""", ("params", "order_id: int = 7\nfail: bool = False"),
          "%%step check --on-error-action page --continue-on-error\nif fail:\n    raise ValueError('bad order')",
          "%%result\n{'order_id': order_id, 'rows': 3}"]


def test_jetnb_run_sends_a_signed_webhook_the_receiver_verifies(cli, make_nb, capture):
    answer = (FIXTURES / "zapier_catch_hook_answer.json").read_text()
    capture.script(Answer(200, answer))
    make_nb("signed.ipynb", SIGNED)
    env = {"ZAPIER_HOOK": capture.url("/hooks/catch/123456/abcdef/"), "ZAPIER_SIGNING": WHSEC,
           "SLACK_WEBHOOK": capture.url("/services/T0SECRET/B0SECRET/XXSECRETXX")}
    record = json.loads(cli("run", "signed.ipynb", "--json", "-p", "order_id", "1001", env=env).stdout)
    assert record["status"] == "succeeded"
    [seen] = capture.seen
    delivery = signing.verify(WHSEC, seen.body, seen.headers)
    assert delivery.startswith("msg_") and seen.path == "/hooks/catch/123456/abcdef/"
    assert json.loads(seen.body) == {"run": record["id"], "result": {"order_id": 1001, "rows": 3},
                                     "by": record["started_by"], "order": "1001"}
    [row] = record["actions"]
    assert (row["action"], row["status"], row["detail"]["on"], row["detail"]["delivery_id"]) == (
        "webhook.send", "succeeded", "success", delivery)


def test_a_step_action_runs_in_the_kernel_under_its_step_and_a_missing_secret_is_recorded(cli, make_nb, capture):
    make_nb("signed.ipynb", SIGNED)
    env = {"SLACK_WEBHOOK": capture.url("/services/T0SECRET/B0SECRET/XXSECRETXX")}  # ZAPIER_HOOK is not set
    record = json.loads(cli("run", "signed.ipynb", "--json", "-p", "fail", "true", env=env).stdout)
    assert record["status"] == "succeeded"  # --continue-on-error; the notification that cannot be sent changes nothing
    [seen] = capture.seen
    assert json.loads(seen.body) == {"text": "check failed: ValueError: bad order (7)"}
    step_row, run_row = record["actions"]
    assert (step_row["action"], step_row["step"], step_row["status"]) == ("slack.send", "check", "succeeded")
    assert (run_row["action"], run_row["step"], run_row["status"]) == ("webhook.send", None, "failed")
    assert run_row["error"] == {"type": "ValueError", "message": "url_secret: the secret ZAPIER_HOOK is not set (set "
                                "the environment variable ZAPIER_HOOK for jetnb run / jetnb serve)"}
    check = next(s for s in record["steps"] if s["name"] == "check")
    assert check["detail"]["handlers"] == [{"handler": "action page", "on": "error", "status": "succeeded",
                                            "duration": check["detail"]["handlers"][0]["duration"]}]


def test_jetnb_run_announces_a_gate_without_a_link(cli, make_nb, smtp_server):
    inbox, port = smtp_server(auth_require_tls=False)
    make_nb("refund.ipynb", REFUND)
    env = {"SMTP_URL": f"smtp://127.0.0.1:{port}?starttls=never&from=jetnb%40example.com"}
    record = json.loads(cli("run", "refund.ipynb", "--json", env=env).stdout)
    assert record["status"] == "waiting"
    [ask] = inbox.messages
    assert text(ask) == "Refund order 1001?"  # no server, no approvals link
    assert [(a["action"], a["detail"]["on"]) for a in record["actions"]] == [("email.send", "approval")]


HANDLED = ["%load_ext jetnb", """%%workflow
name: handled
on_error:
  - alert
  - slack: {webhook_url_secret: SLACK_WEBHOOK, text: "{workflow}: {error_type} at {step}"}
""", "%%handler alert\nprint('handler saw', error.type)", "%%step boom\nraise KeyError('gone')"]


def test_a_handler_in_the_list_still_runs_in_the_kernel_beside_the_actions(cli, make_nb, capture):
    make_nb("handled.ipynb", HANDLED)
    env = {"SLACK_WEBHOOK": capture.url("/services/T0SECRET/B0SECRET/XXSECRETXX")}
    record = json.loads(cli("run", "handled.ipynb", "--json", env=env).stdout)
    assert record["status"] == "failed"
    assert [json.loads(seen.body) for seen in capture.seen] == [{"text": "handled: KeyError at boom"}]
    handler = next(s for s in record["steps"] if s["kind"] == "handler")
    assert handler["name"] == "on_error:alert" and handler["status"] == "succeeded"
    assert "handler saw KeyError" in Path(record["log_path"]).read_text()
