"""The REST API of a real ``jetnb serve``: token auth, workflows, runs and logs, paging, pause and resume, and the
folder being watched; plus how the server stops."""

from __future__ import annotations

import json
import signal

from servekit import TOKEN, wait_for
from test_serve_schedule import blocker

GREET = ["%load_ext jetnb", """%%workflow
name: greet
description: Greets someone.
triggers:
  - schedule: {cron: '0 9 * * *', timezone: Europe/Paris}
""", ("params", "name: str = 'World'  # who to greet\ntimes: int = 1"),
         "%%step greet\ngreeting = ' '.join([f'Hello, {name}!'] * times)", "%%result\n{'greeting': greeting}"]


def test_every_endpoint_but_health_needs_the_token(server):
    srv = server()
    srv.workflow("greet", GREET)
    srv.start()
    health = srv.api("GET", "/api/health", token=None)
    assert health.status_code == 200 and health.json()["status"] == "ok" and health.json()["workflows"] == 1
    for path in ("/api/workflows", "/api/workflows/greet", "/api/runs", "/api/runs/x", "/api/runs/x/log"):
        assert srv.api("GET", path, token=None).status_code == 401
        assert srv.api("GET", path, token="wrong").status_code == 401
    assert srv.api("POST", "/api/workflows/greet/runs", token=None).status_code == 401
    assert srv.api("POST", "/api/workflows/greet/pause", token=None).status_code == 401
    assert srv.api("GET", f"/api/workflows?token={TOKEN}", token=None).status_code == 200
    missing = srv.api("GET", "/api/nothing")
    assert missing.status_code == 404 and missing.json()["error"].startswith("no such endpoint")
    assert srv.runs() == []


def test_workflows_runs_logs_paging_pause_and_resume(server):
    srv = server()
    srv.workflow("greet", GREET)
    srv.start()
    listed = srv.api("GET", "/api/workflows").json()["workflows"]
    assert [w["name"] for w in listed] == ["greet"]
    trigger = listed[0]["triggers"][0]
    assert trigger["kind"] == "schedule" and trigger["next_fire"] == "2026-01-01T08:00:00.000+00:00"  # 09:00 Paris
    assert listed[0]["paused"] is False and listed[0]["last_run"] is None
    detail = srv.api("GET", "/api/workflows/greet").json()
    assert [p["name"] for p in detail["parameters"]] == ["name", "times"]
    assert detail["parameters"][0]["help"] == "who to greet" and detail["config"]["concurrency"] == 1

    quoted = srv.api("POST", "/api/workflows/greet/runs", json={"params": {"name": "Ada", "times": "2"}})
    assert quoted.status_code == 422 and quoted.json()["fields"]["times"].startswith("expected int, got '2'")  # typed
    started = srv.api("POST", "/api/workflows/greet/runs", json={"params": {"name": "Ada", "times": 2}})
    assert started.status_code == 202 and started.json()["status"] == "queued"
    run_id = started.json()["run_id"]
    bad = srv.api("POST", "/api/workflows/greet/runs", json={"params": {"times": "many", "nme": "x"}})
    assert bad.status_code == 422
    assert bad.json()["problems"][0] == "parameter 'times': expected int, got 'many' (text: typed values are not parsed; give the value unquoted)"
    assert bad.json()["problems"][1].startswith("unknown parameter 'nme' (did you mean 'name'?)")
    assert srv.api("POST", "/api/workflows/greet/runs", data="{oops").status_code == 400
    assert srv.api("POST", "/api/workflows/nope/runs", json={}).status_code == 404

    srv.finished_runs("greet", 1)
    run = srv.api("GET", f"/api/runs/{run_id}").json()
    assert run["status"] == "succeeded" and run["trigger"] == "api" and run["params"] == {"name": "Ada", "times": 2}
    assert run["result"] == {"greeting": "Hello, Ada! Hello, Ada!"}
    assert [(s["name"], s["status"]) for s in run["steps"]] == [("greet", "succeeded"), ("result", "succeeded")]
    log = srv.api("GET", f"/api/runs/{run_id}/log")
    assert log.status_code == 200 and log.headers["Content-Type"] == "application/x-ipynb+json"
    assert f'filename="{run_id}.ipynb"' in log.headers["Content-Disposition"]
    assert json.loads(log.content)["metadata"]["jetnb"]["run_id"] == run_id
    assert srv.api("GET", "/api/runs/nope").status_code == 404
    assert srv.api("GET", "/api/runs/nope/log").status_code == 404

    more = [srv.api("POST", "/api/workflows/greet/runs", json={"params": {"name": n}}).json()["run_id"]
            for n in ("Grace", "Lin")]
    srv.finished_runs("greet", 3)
    page = srv.api("GET", "/api/runs?workflow=greet&limit=2").json()
    assert [r["id"] for r in page["runs"]] == more[::-1] and page["next"] == more[0]
    rest = srv.api("GET", f"/api/runs?workflow=greet&limit=2&before={page['next']}").json()
    assert [r["id"] for r in rest["runs"]] == [run_id] and rest["next"] is None
    assert len(srv.api("GET", "/api/runs?trigger=api&status=succeeded").json()["runs"]) == 3
    assert srv.api("GET", "/api/runs?status=failed").json()["runs"] == []
    assert srv.api("GET", "/api/runs?status=bogus").status_code == 400
    assert srv.api("GET", "/api/runs?limit=0").status_code == 400

    paused = srv.api("POST", "/api/workflows/greet/pause", json={"reason": "maintenance"}).json()
    assert paused["paused"] is True and paused["pause_reason"] == "maintenance"
    assert "paused: greet since" in srv.cli("runs").stdout
    assert json.loads(srv.cli("schedules", "--json").stdout)[0]["paused"] is True
    assert "paused" in srv.cli("schedules").stdout.splitlines()[1]
    assert srv.api("POST", "/api/workflows/greet/runs", json={}).status_code == 202  # by hand: still allowed
    resumed = srv.api("POST", "/api/workflows/greet/unpause").json()
    assert resumed["paused"] is False and resumed["consecutive_failures"] == 0

    assert srv.cli("pause", "greet").stdout.strip() == "greet paused"
    assert srv.api("GET", "/api/workflows/greet").json()["paused"] is True  # the server reads the store
    assert srv.cli("unpause", "greet").stdout.strip() == "greet unpaused"
    assert srv.api("GET", "/api/workflows/greet").json()["paused"] is False
    unknown = srv.cli("pause", "nope")
    assert unknown.returncode == 2 and "no workflow 'nope'" in unknown.stderr
    assert [e["kind"] for e in srv.events(workflow="greet") if e["kind"] in ("pause", "unpause")] == [
        "pause", "unpause", "pause", "unpause"]
    srv.finished_runs("greet", 4)
    assert srv.stop() == 0


def test_added_changed_broken_and_removed_notebooks_are_noticed(server):
    srv = server()
    srv.workflow("greet", GREET)
    srv.start()

    def served() -> dict:
        return {w["name"]: [t["kind"] for t in w["triggers"]] for w in srv.api("GET", "/api/workflows").json()[
            "workflows"]}

    path = srv.workflow("later", ["%%workflow\nname: later\ntriggers:\n  - interval: {every: 1h}", "1 + 1"])
    assert wait_for(lambda: served().get("later") == ["interval"], "the added notebook")
    srv.workflow("later", ["%%workflow\nname: later\ntriggers:\n  - webhook: {name: later, auth: none}", "1 + 1"])
    assert wait_for(lambda: served().get("later") == ["webhook"], "the changed notebook")
    srv.workflow("later", ["%%workflow\nname: later\ntriggers: [{webhook: {name: later}}]", "1 + 1"])
    assert wait_for(lambda: "later" not in served(), "the broken notebook to be dropped")
    assert "later.ipynb: cell 1: %%workflow: triggers[0].webhook.auth: required" in srv.log()
    srv.workflow("later", ["%%workflow\nname: later", "1 + 1"])
    assert wait_for(lambda: served().get("later") == [], "the fixed notebook")
    path.unlink()
    assert wait_for(lambda: "later" not in served(), "the removed notebook")
    assert srv.event("unregister", "later")
    assert srv.hook("later", b"").status_code == 404
    assert srv.stop() == 0


def test_stopping_lets_runs_finish_within_the_grace_or_interrupts_them(server, project):
    srv = server()
    srv.workflow("blocker", blocker("blocker"))
    srv.workflow("quick", ["%%workflow\nname: quick", "1 + 1"])
    srv.start()
    first = srv.api("POST", "/api/workflows/blocker/runs", json={}).json()["run_id"]
    wait_for(lambda: srv.step_statuses(first)[:1] == ["running"], "the run to be waiting")
    srv.proc.send_signal(signal.SIGTERM)
    (project / "release").touch()  # within the grace: the run ends by itself
    assert srv.proc.wait(timeout=60) == 0
    assert srv.runs("blocker")[0]["status"] == "succeeded"

    (project / "release").unlink()
    hurried = server(args=("--grace", "1", "--max-runs", "1"))
    hurried.start()
    cut = hurried.api("POST", "/api/workflows/blocker/runs", json={}).json()["run_id"]
    waiting = hurried.api("POST", "/api/workflows/blocker/runs", json={}).json()["run_id"]  # concurrency 1
    wait_for(lambda: hurried.step_statuses(cut)[:1] == ["running"], "the run to be waiting")
    quick = hurried.api("POST", "/api/workflows/quick/runs", json={}).json()["run_id"]  # --max-runs 1
    assert hurried.stop() == 0
    run = hurried.run(cut)
    assert run["status"] == "interrupted" and hurried.step_statuses(cut) == ["interrupted", "not_run"]
    assert json.loads(open(run["log_path"]).read())["metadata"]["jetnb"]["status"] == "interrupted"
    assert hurried.run(waiting)["status"] == "queued"  # accepted work is kept for the next start
    assert hurried.run(quick)["status"] == "queued" and hurried.run(quick)["started_at"] is None
    assert "interrupted: the server stopped" in hurried.log()

    (project / "release").touch()
    hurried.start()
    assert [r["status"] for r in hurried.finished_runs("blocker", 3)] == ["succeeded", "interrupted", "succeeded"]
    assert hurried.finished_runs("quick", 1)[0]["status"] == "succeeded"
    assert hurried.stop() == 0
