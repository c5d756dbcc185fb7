"""The recipes of docs/integrations.md, run for real: the notebooks in notebooks/ on a real ``jetnb serve`` fed the
recorded-shape GitHub, Stripe and Zapier deliveries of tests/fixtures (signed as their senders sign them), and on
``jetnb run`` with a capture server and an SMTP server on 127.0.0.1 as the other side."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from servekit import Server, wait_for
from test_actions_email import smtp_server  # noqa: F401  (a fixture)
from test_actions_http import Answer, CaptureServer, capture  # noqa: F401
from test_notify import text

from conftest import REPO
from jetnb import signing

FIXTURES = REPO / "tests" / "fixtures"
RECIPES = ("zapier_order", "report_to_zapier", "github_push", "stripe_payment", "nightly_sales")
GITHUB_SECRET, STRIPE_SECRET, ZAPIER_TOKEN = "gh-hook-s3cret", "whsec_test_s3cretStripeEndpoint", "zap-t0ken-s3cret"


def served(server, *names: str) -> Server:
    srv = server(env={"GITHUB_WEBHOOK_SECRET": GITHUB_SECRET, "STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
                      "ZAPIER_TOKEN": ZAPIER_TOKEN})
    for name in names:
        shutil.copy(REPO / "notebooks" / f"{name}.ipynb", srv.notebooks / f"{name}.ipynb")
    return srv.start()


def finished(srv: Server, run_id: str) -> dict:
    return wait_for(lambda: (run := srv.run(run_id))["status"] in ("succeeded", "failed") and run, f"run {run_id}")


def test_a_signed_github_push_is_bound_picked_and_shown_in_the_run_log(server):
    srv = served(server, "github_push")
    body = (FIXTURES / "github_push.json").read_bytes()
    headers = {**json.loads((FIXTURES / "github_push.headers.json").read_text()),
               "X-Hub-Signature-256": signing.sign_hub(GITHUB_SECRET, body)}
    accepted = srv.hook("github", body, headers)
    assert accepted.status_code == 202, accepted.text
    run = finished(srv, accepted.json()["run_id"])
    assert run["status"] == "succeeded", run["error"]
    assert run["result"] == {"event": "push", "branch": "refs/heads/main", "pusher": "monalisa", "commits": 1,
                             "deployed": True, "delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
    params = run["params"]
    assert params["event"] == json.loads(body) and params["pusher"] == "monalisa"
    assert params["hook_headers"]["x-github-event"] == "push" and params["hook_headers"]["user-agent"].startswith(
        "GitHub-Hookshot/")
    assert not {"x-hub-signature-256", "authorization"} & set(params["hook_headers"])
    assert run["trigger_detail"]["delivery_id"] == "72d3162e-cc78-11e3-81ab-4c9367dc0958"
    log = Path(run["log_path"]).read_text()
    assert "octocat/Hello-World" in log and "Update README.md" in log  # the payload, in the injected parameters
    assert "would deploy octocat/Hello-World at 0d1a26e" in log

    again = srv.hook("github", body, headers)
    assert again.status_code == 200 and again.json()["duplicate"] is True
    replayed = srv.hook("github", body, {**headers, "X-GitHub-Delivery": "another-id"})
    assert replayed.status_code == 401
    forged = srv.hook("github", body.replace(b"monalisa", b"mallory"), headers)
    assert forged.status_code == 401 and forged.json() == {"error": "missing or wrong signature in X-Hub-Signature-256"}
    assert len(srv.runs("github-push")) == 1
    assert srv.stop() == 0


def stripe_headers(body: bytes, stamp: float | None = None) -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8",
            "Stripe-Signature": signing.sign_stripe(STRIPE_SECRET, int(stamp or time.time()), body)}


def test_a_stripe_event_is_the_payload_and_its_order_id_is_picked(server):
    srv = served(server, "stripe_payment")
    event = json.loads((FIXTURES / "stripe_payment_intent_succeeded.json").read_text())
    body = json.dumps(event, indent=2).encode()
    accepted = srv.hook("stripe", body, stripe_headers(body))
    assert accepted.status_code == 202, accepted.text
    run = finished(srv, accepted.json()["run_id"])
    assert run["result"] == {"order_id": "1001", "event": "payment_intent.succeeded", "amount": 42.5, "recorded": True}
    assert run["params"] == {"event": event, "order_id": "1001"}
    assert run["trigger_detail"]["delivery_id"] == event["id"]

    retried = srv.hook("stripe", body, stripe_headers(body, time.time() + 1))  # Stripe retries: new t, same event
    assert retried.status_code == 200 and retried.json()["run_id"] == run["id"]
    stale = srv.hook("stripe", body, stripe_headers(body, time.time() - 3600))
    assert stale.status_code == 401 and "s old, more than the 300s allowed" in stale.json()["error"]
    wrong = srv.hook("stripe", body, {"Stripe-Signature": signing.sign_stripe("whsec_other", int(time.time()), body)})
    assert wrong.status_code == 401 and wrong.json()["error"] == ("Stripe signature refused: Stripe-Signature does not "
                                                                  "match the body")

    del event["data"]["object"]["metadata"]["order_id"]
    event["id"] = "evt_without_order"
    body = json.dumps(event).encode()
    missing = srv.hook("stripe", body, stripe_headers(body))
    assert missing.status_code == 422
    assert missing.json() == {"error": "bad parameters", "problems": [
        "parameter 'order_id': nothing at data.object.metadata.order_id in the body (data.object.metadata has no key "
        "'order_id')"], "fields": {"order_id": "nothing at data.object.metadata.order_id in the body "
                                               "(data.object.metadata has no key 'order_id')"}}
    assert len(srv.runs("stripe-payment")) == 1
    assert srv.stop() == 0


def test_zapier_posts_a_form_or_json_and_unknown_fields_are_kept_in_the_payload(server):
    srv = served(server, "zapier_order")
    auth = {"Authorization": f"Bearer {ZAPIER_TOKEN}"}
    form = (FIXTURES / "zapier_post.form").read_bytes()
    as_form = srv.hook("zapier-order", form, {**auth, "Content-Type": "application/x-www-form-urlencoded"})
    assert as_form.status_code == 202, as_form.text
    run = finished(srv, as_form.json()["run_id"])
    assert run["result"] == {"order_id": "1002", "email": "grace@example.com", "amount": 19.99,
                             "fields": ["amount", "customer_email", "note", "order_id", "source", "zap_run"]}
    assert run["params"]["order"]["note"] == "changed my mind"  # form text, decoded

    as_json = srv.hook("zapier-order", {"order_id": "1003", "customer_email": "alan@example.com", "amount": "7.00",
                                        "source": "Make"}, {**auth, "Content-Type": "application/json"})
    assert finished(srv, as_json.json()["run_id"])["result"]["email"] == "alan@example.com"
    assert srv.hook("zapier-order", form, {"Content-Type": "application/x-www-form-urlencoded"}).status_code == 401
    no_email = srv.hook("zapier-order", b"order_id=1004", {**auth, "Content-Type": "application/x-www-form-urlencoded"})
    assert no_email.status_code == 422 and no_email.json()["problems"] == [
        "parameter 'email': nothing at customer_email in the body (the body has no key 'customer_email')"]
    assert srv.stop() == 0


def test_the_daily_report_goes_to_a_zapier_catch_hook(cli, capture):
    capture.script(Answer(200, (FIXTURES / "zapier_catch_hook_answer.json").read_text()))
    hook = capture.url("/hooks/catch/123456/abcdef/")
    result = cli("run", str(REPO / "notebooks" / "report_to_zapier.ipynb"), "--json", env={"ZAPIER_HOOK": hook})
    record = json.loads(result.stdout)
    [seen] = capture.seen
    assert json.loads(seen.body) == {"report": "report-to-zapier", "run": record["id"],
                                     "totals": {"orders": 2, "revenue": 62.49, "currency": "EUR"}}
    assert seen.headers["webhook-id"] == record["actions"][0]["detail"]["delivery_id"]
    assert "123456" not in json.dumps(record["actions"])


def test_a_failing_nightly_check_alerts_slack_and_email(cli, capture, smtp_server):
    inbox, port = smtp_server(auth_require_tls=False)
    env = {"SLACK_WEBHOOK": capture.url("/services/T0SECRET/B0SECRET/XXSECRETXX"),
           "SMTP_URL": f"smtp://127.0.0.1:{port}?starttls=never&from=jetnb%40example.com"}
    result = cli("run", str(REPO / "notebooks" / "nightly_sales.ipynb"), "--json", "-p", "min_orders", "100", env=env)
    record = json.loads(result.stdout)
    assert record["status"] == "failed" and result.returncode == 1
    why = "only 2 orders last night, expected at least 100"
    assert [json.loads(seen.body)["text"] for seen in capture.seen] == [
        f"nightly-sales: step fetch gave up: ValueError: {why}",  # the step's own action, from the kernel
        f":red_circle: nightly-sales failed at fetch: {why} <|run {record['id']}>"]  # no server: no run link
    [mail] = inbox.messages
    assert mail["Subject"] == "nightly-sales failed: ValueError" and mail["To"] == "ops@example.com"
    assert text(mail) == f"Step fetch failed: {why}\nMinimum expected: 100 orders"
    assert [(a["action"], a["step"], a["status"], (a["detail"] or {}).get("on")) for a in record["actions"]] == [
        ("slack.send", "fetch", "succeeded", None), ("slack.send", None, "succeeded", "error"),
        ("email.send", None, "succeeded", "error")]


@pytest.mark.parametrize("name", RECIPES)
def test_each_recipe_runs_headless_with_its_defaults(cli, name):
    result = cli("run", str(REPO / "notebooks" / f"{name}.ipynb"), "--json")
    record = json.loads(result.stdout)
    assert record["status"] == "succeeded", record["error"]
