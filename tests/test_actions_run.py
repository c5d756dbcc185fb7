"""Actions inside a real ``jetnb run``: each call leaves one ``action`` event in the run log, under its step.

The notebook calls a failing HTTP endpoint and an SMTP server that refuses
its login in ``--continue-on-error`` steps (the run goes on), writes to
SQLite and delivers a signed webhook in the next step, and queries outside
any step. The URLs carry credentials, a hook token and a query token; none
of them may appear in an event.
"""

from __future__ import annotations

import json
from datetime import datetime

import nbformat
from test_actions_email import smtp_server  # noqa: F401  (a fixture)
from test_actions_http import Answer, CaptureServer, assert_no_secret, capture  # noqa: F401

from jetnb import signing
from jetnb.protocol import MIME, ActionEvent, from_dict

WHSEC = "whsec_c2VjcmV0LWtleS1mb3ItdGVzdHM="

NOTEBOOK = [
    "%load_ext jetnb",
    ("params", 'failing_url: str = ""\nhook_url: str = ""\nsmtp_url: str = ""'),
    ("%%step notify --continue-on-error\nfrom jetnb.actions import http\n"
     'http.request("POST", failing_url, json={"order": 1001}, retries=1, backoff=0.01)'),
    ('%%step mail --continue-on-error\nfrom jetnb.actions import email\n'
     'email.send("ada@example.com", "hi", "body", smtp_url=smtp_url)'),
    ('%%step record --when "steps.notify.failed"\nfrom jetnb.actions import sql, webhook\n'
     'sql.execute("sqlite:///actions.db", "CREATE TABLE log (note TEXT)")\n'
     'added = sql.execute("sqlite:///actions.db", "INSERT INTO log VALUES (:note)", [{"note": "a"}, {"note": "b"}])\n'
     f'delivery = webhook.send(hook_url, {{"added": added}}, secret="{WHSEC}")'),
    'from jetnb.actions import sql\nrows = sql.query("sqlite:///actions.db", "SELECT count(*) AS n FROM log")',
    '%%result\n{"added": added, "rows": rows, "delivery": delivery.id}',
]


def action_events(log_path: str) -> list[tuple[dict, str]]:
    """Each action event displayed in the run log, with its status line, in order."""
    log = nbformat.read(log_path, as_version=4)
    return [(dict(out["data"][MIME]), out["data"]["text/plain"]) for cell in log.cells
            for out in cell.get("outputs", []) if MIME in out.get("data", {})
            and out["data"][MIME].get("event") == "action"]


def test_a_failing_action_in_a_continue_on_error_step_is_recorded_and_the_run_goes_on(
        cli, make_nb, capture: CaptureServer, smtp_server) -> None:  # noqa: F811
    capture.script(Answer(500, "boom"), Answer(503, "busy", {"Content-Type": "text/plain"}))
    failing = capture.url("/services/T0SECRET/B0SECRET/XXSECRETXX?token=tok-S3CRET", userinfo="alice:pw-S3CRET")
    inbox, port = smtp_server(auth_require_tls=False)
    make_nb("actions.ipynb", NOTEBOOK)
    result = cli("run", "actions.ipynb", "--json", "-p", "failing_url", failing,
                 "-p", "hook_url", capture.url("/hooks/catch/T0SECRET/XXSECRETXX/"),
                 "-p", "smtp_url", f"smtp://alice:pw-S3CRET@127.0.0.1:{port}?starttls=never&from=bot%40example.com")
    record = json.loads(result.stdout)
    assert record["status"] == "succeeded", (record["error"], result.stderr)
    notify = next(s for s in record["steps"] if s["name"] == "notify")
    assert notify["status"] == "failed" and notify["detail"]["continued"] is True
    assert_no_secret(notify["error"]["message"])
    assert record["result"]["added"] == 2 and record["result"]["rows"] == [{"n": 2}]

    events = action_events(record["log_path"])
    assert [(e["action"], e["status"], e.get("step")) for e, _ in events] == [
        ("http.request", "failed", "notify"), ("email.send", "failed", "mail"), ("sql.execute", "succeeded", "record"),
        ("sql.execute", "succeeded", "record"), ("webhook.send", "succeeded", "record"),
        ("sql.query", "succeeded", None),  # outside a %%step: the engine knows the cell, the kernel no step
    ]
    failed, line = events[0]
    host = f"127.0.0.1:{capture.port}"
    assert isinstance(from_dict(failed), ActionEvent)
    assert (failed["target"], failed["attempts"], failed["detail"]) == (host, 2, {"method": "POST", "status_code": 503})
    assert failed["error"] == {"type": "HTTPStatusError",
                               "message": f"POST http://{host}/services/***: 503 Service Unavailable (after 2 "
                                          "attempts): busy"}
    assert failed["duration"] >= 0 and datetime.fromisoformat(failed["started_at"]).tzinfo is not None
    assert line.startswith(f"✗ http.request {host} failed in ")
    assert line.endswith("ms: HTTPStatusError: " + failed["error"]["message"])
    mail = events[1][0]
    assert (mail["target"], mail["detail"]) == (f"127.0.0.1:{port}", {"recipients": 1, "attachments": 0})
    assert mail["error"]["message"].startswith(f"SMTP 127.0.0.1:{port} refused the login: 535 ")
    assert inbox.messages == []
    assert events[3][0]["target"] == "actions.db" and events[3][0]["detail"] == {"dialect": "sqlite", "rows": 2}
    delivered = events[4][0]
    assert delivered["target"] == host and delivered["detail"] == {"delivery_id": record["result"]["delivery"],
                                                                   "status_code": 200}
    for event, text in events:
        assert_no_secret(json.dumps(event) + text)

    hook = capture.seen[-1]
    assert hook.path == "/hooks/catch/T0SECRET/XXSECRETXX/"
    assert signing.verify(WHSEC, hook.body, hook.headers) == record["result"]["delivery"]
    stored = [(a["action"], a["status"], a["step"], a["target"]) for a in record["actions"]]
    assert stored == [(e["action"], e["status"], e.get("step"), e["target"]) for e, _ in events]
    assert record["actions"][0]["attempts"] == 2 and record["actions"][0]["error"] == failed["error"]
    shown = cli("show", record["id"])
    assert shown.returncode == 0
    assert f"✗ http.request {host} failed in " in shown.stdout and "(2 attempts)  [step notify]" in shown.stdout
    assert_no_secret(shown.stdout.partition("\nactions\n")[2])  # the parameters themselves are plain text here
