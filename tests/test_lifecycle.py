"""One run lifecycle on every path: cancel (CLI, API, widget) in each status, and concurrency and overlap counted in
the store across processes (a ``jetnb run`` beside a ``jetnb serve``). Real kernels, a real server."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from conftest import run_cli
from servekit import Store, wait_for
from jetnb.widgets import LocalClient, RunHistory

# holds its step until the file named `gate` exists in the notebook's folder (at most 60 s)
HOLD = ["%load_ext jetnb", "%%workflow\nname: hold\nconcurrency: 1\ntriggers:\n  - interval: {every: 1m}",
        ("params", "gate: str = 'release'"),
        "%%step first\nprint('first ran')",
        "%%step hold\nimport os, time\nt0 = time.monotonic()\n"
        "while not os.path.exists(gate) and time.monotonic() - t0 < 60:\n    time.sleep(0.05)",
        "%%result\n'released'"]

GATE = ["%load_ext jetnb", "%%workflow\nname: gate-me",
        "%%step ask --approve alice\nprint('approved')", "%%result\n'done'"]


def store_of(project: Path) -> Store:
    return Store(project / ".jetnb" / "jetnb.db")


def runs_of(project: Path, workflow: str) -> list[dict]:
    store = store_of(project)
    try:
        return store.list_runs(workflow=workflow, limit=100)[::-1]
    finally:
        store.close()


def step_statuses(project: Path, run_id: str) -> list[str]:
    store = store_of(project)
    try:
        return [s["status"] for s in store.steps(run_id)]
    finally:
        store.close()


def start_cli_run(project: Path, notebook: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "jetnb", "run", notebook, "--json", *args], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_cancel_a_running_run_from_another_terminal(make_nb, project):
    make_nb("hold.ipynb", HOLD)
    proc = start_cli_run(project, "hold.ipynb")
    run = wait_for(lambda: next((r for r in runs_of(project, "hold")
                                 if step_statuses(project, r["id"])[1:2] == ["running"]), None), "the hold step")
    cancelled = run_cli("cancel", run["id"][:15], "--reason", "wrong day", cwd=project)
    assert cancelled.returncode == 0 and "asked to stop" in cancelled.stdout
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1, err
    record = json.loads(out)
    assert record["status"] == "cancelled" and record["cancelled_by"] and record["cancel_reason"] == "wrong day"
    assert record["error"]["type"] == "Cancelled" and "wrong day" in record["error"]["message"]
    assert [s["status"] for s in record["steps"]] == ["succeeded", "cancelled", "not_run"]
    log = json.loads(Path(record["log_path"]).read_text())  # the partial run log is saved and readable
    assert log["metadata"]["jetnb"]["status"] == "cancelled"
    assert any("first ran" in "".join(o.get("text", "")) for c in log["cells"] for o in c.get("outputs", []))
    store = store_of(project)
    audit = store.audit_log(f"run:{record['id']}", action="run.cancelled")
    assert audit and audit[0]["actor"] == record["cancelled_by"] and audit[0]["detail"]["was"] == "running"
    again = run_cli("cancel", record["id"], cwd=project)
    assert again.returncode == 2 and "has already ended (cancelled)" in again.stderr


def test_cancel_a_waiting_run_closes_its_approval(make_nb, project, cli):
    make_nb("gate.ipynb", GATE)
    waiting = json.loads(cli("run", "gate.ipynb", "--json").stdout)
    assert waiting["status"] == "waiting"
    done = cli("cancel", waiting["id"], "--json")
    assert done.returncode == 0 and json.loads(done.stdout)["status"] == "cancelled"
    store = store_of(project)
    [request] = store.list_approvals(pending_only=False)
    assert request["status"] == "cancelled" and store.list_approvals() == []
    assert [s["status"] for s in store.steps(waiting["id"])] == ["cancelled", "not_run"]
    refused = cli("approve", str(request["id"]), "--as", "alice")
    assert refused.returncode == 1 and "already decided: cancelled" in refused.stderr
    assert cli("resume", waiting["id"]).returncode == 2


def test_a_cli_run_waits_for_a_slot_held_by_the_server_and_overlap_sees_cli_runs(server, project):
    srv = server()
    srv.workflow("hold", HOLD)
    srv.start()
    first = srv.api("POST", "/api/workflows/hold/runs", json={}).json()["run_id"]
    wait_for(lambda: srv.step_statuses(first)[1:2] == ["running"], "the server's run to hold")
    cli = start_cli_run(project, "notebooks/hold.ipynb", "-p", "gate", "release")
    waiting_line = wait_for(lambda: [r for r in srv.runs("hold") if r["trigger"] == "manual"], "the CLI run")
    assert waiting_line[0]["status"] == "queued"  # concurrency 1 is taken by the server's run
    time.sleep(1.5)
    assert srv.runs("hold")[-1]["status"] == "queued"

    # the schedule ticks while the CLI run is queued: overlap (skip) counts it
    srv.advance(60)
    skipped = wait_for(lambda: [f for f in srv.fires("hold") if f["outcome"] == "skipped"], "a skipped tick")
    assert "still going" in skipped[0]["reason"]

    (srv.notebooks / "release").touch()
    out, err = cli.communicate(timeout=90)
    assert cli.returncode == 0, err
    assert "its workflow's concurrency is taken by " + first in err
    mine = json.loads(out)
    server_run = srv.run(first)
    assert server_run["status"] == "succeeded" and mine["status"] == "succeeded"
    assert datetime.fromisoformat(mine["started_at"]).timestamp() >= server_run["finished_at"] - 0.001
    assert srv.stop() == 0


def test_cancel_through_the_api_and_a_finished_run_is_409(server):
    srv = server()
    srv.workflow("hold", HOLD)
    srv.start()
    first = srv.api("POST", "/api/workflows/hold/runs", json={}).json()["run_id"]
    queued = srv.api("POST", "/api/workflows/hold/runs", json={}).json()["run_id"]
    wait_for(lambda: srv.step_statuses(first)[1:2] == ["running"], "the first run to hold")
    answer = srv.api("POST", f"/api/runs/{queued}/cancel", json={"reason": "not needed"})
    assert answer.status_code == 200 and answer.json()["status"] == "cancelled"
    running = srv.api("POST", f"/api/runs/{first}/cancel", json={})
    assert running.status_code == 200 and running.json()["status"] in ("running", "cancelled")
    wait_for(lambda: srv.run(first)["status"] == "cancelled", "the running run to end cancelled")
    assert srv.step_statuses(first) == ["succeeded", "cancelled", "not_run"]
    late = srv.api("POST", f"/api/runs/{first}/cancel", json={})
    assert late.status_code == 409 and "has already ended" in late.json()["error"]
    assert srv.api("POST", "/api/runs/nope/cancel", json={}).status_code == 404
    assert srv.stop() == 0


def test_run_history_cancels_the_selected_run(make_nb, project):
    path = make_nb("hold.ipynb", HOLD)
    client = LocalClient()
    run_id = client.start_run(path)
    wait_for(lambda: step_statuses(project, run_id)[1:2] == ["running"], "the run to hold")
    history = RunHistory(path, client=client)
    history.select(run_id)
    wait_for(lambda: not history.cancel_button.disabled, "the Cancel button to be enabled")
    history.cancel_button.click()
    wait_for(lambda: client.get_run(run_id)["status"] == "cancelled", "the run to end cancelled")
    wait_for(lambda: history.cancel_button.disabled, "the Cancel button to be disabled again")
