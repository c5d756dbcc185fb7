"""Automatic pausing on a real ``jetnb serve``: repeated failures pause the triggers, someone is told, resume resets."""

from __future__ import annotations

import json

from servekit import ts, wait_for

FLAKY = ["%load_ext jetnb", """%%workflow
name: flaky
triggers:
  - interval: {every: 1m}
  - webhook: {name: flaky, auth: none}
pause_after_failures: 2
on_pause: tell.ipynb
""", "%%step query\nraise RuntimeError('database is down')"]

TELL = [("params", "workflow: str = ''\nfailures: int = 0\nlast_error: str = ''\nlast_run_id: str = ''"),
        "%load_ext jetnb", "%%result\n{'workflow': workflow, 'failures': failures, 'last_error': last_error, "
                           "'last_run_id': last_run_id}"]


def test_repeated_failures_pause_the_workflow_and_tell_someone(server):
    srv = server()
    srv.workflow("flaky", FLAKY)
    srv.workflow("tell", TELL)
    srv.start()
    srv.set_clock(ts("2026-01-01T00:01:00+00:00"))
    srv.finished_runs("flaky", 1)
    assert srv.api("GET", "/api/workflows/flaky").json()["consecutive_failures"] == 1
    srv.set_clock(ts("2026-01-01T00:02:00+00:00"))
    failed = srv.finished_runs("flaky", 2)
    assert [r["status"] for r in failed] == ["failed", "failed"]
    pause = srv.event("pause", "flaky paused after 2 consecutive failed runs")
    assert f"(the last, {failed[1]['id']}: RuntimeError: database is down)" in pause["message"]
    assert "WARNING pause: flaky paused" in srv.log()

    told = srv.finished_runs("tell", 1)[0]
    assert told["trigger"] == "on_pause" and told["status"] == "succeeded"
    assert told["result"] == {"workflow": "flaky", "failures": 2, "last_error": "RuntimeError: database is down",
                              "last_run_id": failed[1]["id"]}

    state = srv.api("GET", "/api/workflows/flaky").json()
    assert state["paused"] is True and "2 consecutive failed runs" in state["pause_reason"]
    assert state["paused_at"] is not None and state["consecutive_failures"] == 2
    assert "paused: flaky since" in srv.cli("runs").stdout
    assert json.loads(srv.cli("schedules", "--json").stdout)[0]["paused"] is True
    refused = srv.hook("flaky", b"{}")
    assert refused.status_code == 409 and "paused" in refused.json()["error"]

    srv.set_clock(ts("2026-01-01T00:03:00+00:00"))
    skipped = wait_for(lambda: [f for f in srv.fires("flaky") if f["outcome"] == "skipped"], "a skipped tick")
    assert skipped[0]["reason"] == "the workflow is paused"
    assert len(srv.runs("flaky")) == 2
    by_hand = srv.api("POST", "/api/workflows/flaky/runs", json={})
    assert by_hand.status_code == 202  # runs started by hand are still allowed

    srv.finished_runs("flaky", 3)
    resumed = srv.api("POST", "/api/workflows/flaky/unpause").json()
    assert resumed["paused"] is False and resumed["consecutive_failures"] == 0
    srv.set_clock(ts("2026-01-01T00:04:00+00:00"))
    assert srv.finished_runs("flaky", 4)[3]["trigger"] == "interval"
    wait_for(lambda: srv.api("GET", "/api/workflows/flaky").json()["consecutive_failures"] == 1,
             "the count to start again from the resume")
    assert srv.api("GET", "/api/workflows/flaky").json()["paused"] is False
    assert len(srv.runs("tell")) == 1
    assert srv.stop() == 0
