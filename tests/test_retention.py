"""Retention: ``retention:`` in ``%%workflow``, ``jetnb prune`` (and its dry run), the server-wide default, and
``jetnb serve`` pruning by itself. Runs of several statuses and ages are written through the real store; runs that
are queued, running or waiting are never removed; each prune is audited once."""

from __future__ import annotations

import time
from pathlib import Path

from conftest import run_json
from servekit import wait_for
from jetnb.model.workflow import Workflow
from jetnb.protocol import RunStatus
from jetnb.service.retention import default_policy, prune
from jetnb.store import Store

DAY = 86400.0
KEEP = ["%%workflow\nname: kept\nretention: {keep_last: 2, max_age: 30d, failed: {keep_last: 3}}", "%%step a\nx = 1"]
PLAIN = ["%%workflow\nname: plain", "%%step a\nx = 1"]


def add_run(store: Store, notebook: Path, status: str, age_days: float, runs_dir: Path) -> str:
    """A run of ``notebook``'s workflow that ended ``age_days`` ago, with a run log, journal and run folder."""
    workflow = Workflow.load(notebook).name
    ended = time.time() - age_days * DAY
    run_id = store.create_run(workflow=workflow, notebook=str(notebook), params={}, log_path=None)
    log = runs_dir / workflow / f"{run_id}.ipynb"
    store.update_run(run_id, log_path=str(log), created_at=ended - 5)
    store.save_step(run_id, 1, name="a", kind="step", status="succeeded")
    if status in ("succeeded", "failed", "interrupted", "cancelled"):
        store.finish_run(run_id, RunStatus(status), finished_at=ended)
    elif status != "queued":
        store.update_run(run_id, status=status)
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text("{}")
    (log.with_suffix(".journal")).mkdir()
    (log.with_suffix("") / "artifacts").mkdir(parents=True)
    (log.parent / f".{log.name}.abc.tmp").write_text("partial")
    return run_id


def statuses(store: Store, workflow: str) -> list[str]:
    return [r["status"] for r in store.list_runs(workflow=workflow, limit=1000)]


def test_a_workflow_policy_per_status_and_age_never_an_active_run(make_nb, project):
    store = Store(project / "store.db")
    nb = make_nb("kept.ipynb", KEEP)
    runs_dir = project / "runs"
    old_active = [add_run(store, nb, s, 90, runs_dir) for s in ("queued", "running", "waiting")]
    succeeded = [add_run(store, nb, "succeeded", age, runs_dir) for age in (40, 3, 2, 1)]  # newest last
    cancelled = add_run(store, nb, "cancelled", 0.5, runs_dir)
    failed = [add_run(store, nb, "failed", age, runs_dir) for age in (200, 100, 50, 10)]
    rerun = store.create_run(workflow="kept", notebook=str(nb), params={}, rerun_of=succeeded[0])
    store.finish_run(rerun, RunStatus.SUCCEEDED)
    store.record_fire("kept", "interval:1h", 1000.0, "fired", run_id=succeeded[1])
    store.record_delivery("hook", "delivery-1", succeeded[1])
    store.request_approval(run_id=failed[0], workflow="kept", step="a", approvers=["ada"], message="ok?",
                           details={}, on_timeout="reject", allow_self=True, started_by=None, trigger="manual",
                           timeout=None)

    dry = prune(store, now=time.time(), by="ada", dry_run=True)
    # the other statuses together: the newest 2 (rerun, cancelled) stay; the rest is beyond them; failed: newest 3
    expected = {*succeeded, failed[0]}
    assert {d.run_id for d in dry.runs} == expected and dry.removed == []
    assert next(d for d in dry.runs if d.run_id == failed[0]).why == "beyond the newest 3 failed runs"
    assert len(statuses(store, "kept")) == 13 and store.audit_log(action="runs.pruned") == []

    done = prune(store, now=time.time(), by="ada")
    assert set(done.removed) == expected and done.problems == []
    assert sorted(r["id"] for r in store.list_runs(workflow="kept", limit=100)) == sorted(
        [*old_active, cancelled, *failed[1:], rerun])
    for run_id in expected:
        log = runs_dir / "kept" / f"{run_id}.ipynb"
        assert not log.exists() and not log.with_suffix(".journal").exists() and not log.with_suffix("").exists()
        assert not list(log.parent.glob(f".{log.name}.*.tmp"))
    assert done.files == 4 * len(expected)
    assert (runs_dir / "kept" / f"{old_active[0]}.ipynb").exists()
    assert store.conn.execute("PRAGMA foreign_key_check").fetchall() == []
    assert store.conn.execute("SELECT COUNT(*) FROM steps WHERE run_id IN (?, ?)", succeeded[:2]).fetchone()[0] == 0
    assert store.run_approvals(failed[0]) == []
    assert store.get_run(rerun, with_steps=False)["rerun_of"] is None
    assert store.fires("kept")[0]["run_id"] is None  # the tick stays fired: it is the idempotency key
    assert store.delivery_run("hook", "delivery-1") == "pruned"  # the delivery id stays remembered

    (entry,) = store.audit_log(action="runs.pruned")
    assert entry["actor"] == "ada" and entry["detail"]["runs"] == len(expected)
    assert entry["detail"]["statuses"] == {"succeeded": 4, "failed": 1} and entry["detail"]["workflows"] == {"kept": 5}
    assert prune(store, now=time.time(), by="ada").removed == []  # nothing left to do: no second audit entry
    assert len(store.audit_log(action="runs.pruned")) == 1


def test_age_limit_and_the_default_for_workflows_without_a_policy(make_nb, project):
    store = Store(project / "store.db")
    kept, plain = make_nb("kept.ipynb", KEEP), make_nb("plain.ipynb", PLAIN)
    recent = add_run(store, kept, "succeeded", 1, project / "runs")
    old = add_run(store, kept, "succeeded", 31, project / "runs")
    plain_runs = [add_run(store, plain, "succeeded", age, project / "runs") for age in (10, 5, 1)]
    assert prune(store, now=time.time(), by="x", dry_run=True, workflow="plain").runs == []  # no policy, no default
    chosen = prune(store, now=time.time(), by="x", dry_run=True).runs
    assert [d.run_id for d in chosen] == [old] and chosen[0].why.startswith("ended 31d")
    default = default_policy(keep_runs=None, retention_days=7)
    assert {d.run_id for d in prune(store, now=time.time(), by="x", default=default, dry_run=True).runs} == {
        old, plain_runs[0]}
    later = time.time() + 29.5 * DAY  # time moves on: the recent run is past 30 days then
    assert {d.run_id for d in prune(store, now=later, by="x", workflow="kept").runs} == {recent, old}
    assert statuses(store, "kept") == []


def test_jetnb_prune_command(cli, make_nb, project):
    cli("run", make_nb("kept.ipynb", KEEP).name, "-q")
    make_nb("plain.ipynb", PLAIN)
    for _ in range(3):
        assert cli("run", "plain.ipynb", "-q").returncode == 0
    assert "nothing to prune" in cli("prune").stdout
    dry = cli("prune", "--dry-run", "--keep-runs", "1")
    assert dry.returncode == 0 and "would remove 2 run(s)" in dry.stdout and "beyond the newest 1" in dry.stdout
    assert len(run_json(cli("runs", "--json", "-w", "plain"))) == 3
    only_kept = run_json(cli("prune", "--keep-runs", "1", "--workflow", "kept", "--json"))
    assert only_kept["removed"] == 0  # kept's own policy (keep_last: 2) wins over the default
    done = run_json(cli("prune", "--keep-runs", "1", "--json"))
    assert done["removed"] == 2 and done["dry_run"] is False
    assert len(run_json(cli("runs", "--json", "-w", "plain"))) == 1
    store = Store(project / ".jetnb" / "jetnb.db")
    (entry,) = store.audit_log(action="runs.pruned")
    assert entry["detail"]["runs"] == 2 and entry["actor"]
    clock = project / "clock.txt"
    clock.write_text(str(time.time() + 40 * DAY))
    aged = run_json(cli("prune", "--json", env={"JETNB_FAKE_CLOCK": str(clock)}))
    assert aged["removed"] == 1 and aged["runs"][0]["workflow"] == "kept"  # max_age: 30d
    assert cli("prune", "--retention-days", "0").returncode == 2


def test_check_reports_a_bad_retention(cli, make_nb):
    make_nb("bad.ipynb", ["%%workflow\nretention: {keep_lst: 3, failed: {max_age: forever}, running: {}}"])
    result = cli("check", "bad.ipynb")
    assert result.returncode == 1
    assert "retention: keep_lst: unknown key (did you mean 'keep_last'?)" in result.stdout
    assert "failed: max_age: not a duration: 'forever'" in result.stdout
    assert "running: unknown key" in result.stdout


HOOKED = ["%load_ext jetnb", """%%workflow
name: hooked
triggers:
  - webhook: {name: hooked, auth: none}
""", ("params", "n: int = 0"), "%%step a\nx = n"]
OWN = ["%load_ext jetnb", "%%workflow\nname: own\nretention: {keep_last: 1}", "%%step a\nx = 1"]


def test_the_server_prunes_by_itself(server):
    srv = server(args=("--retention-days", "1"))
    srv.set_clock(time.time())  # run records keep real times: the server's clock starts at the real one
    srv.workflow("hooked", HOOKED)
    srv.workflow("own", OWN)
    srv.start()
    first = srv.hook("hooked", {"n": 1}, headers={"X-Delivery-Id": "d-1"})
    assert first.status_code == 202
    for _ in range(2):
        assert srv.api("POST", "/api/workflows/own/runs", json={}).status_code == 202
    srv.finished_runs("hooked", 1)
    srv.finished_runs("own", 2)
    srv.advance(3600)  # an hour of the server's clock: the next prune; own keeps its newest run
    wait_for(lambda: len(srv.runs("own")) == 1, "the server to prune own's older run")
    assert len(srv.runs("hooked")) == 1
    srv.advance(2 * DAY)  # two days: hooked's run is past the server-wide --retention-days 1
    wait_for(lambda: srv.runs("hooked") == [], "the server to prune hooked's run")
    entries = srv.store().audit_log(action="runs.pruned")
    assert [e["actor"] for e in entries] == ["jetnb serve", "jetnb serve"]
    assert "prune: 1 ended run(s) removed" in srv.log()
    again = srv.hook("hooked", {"n": 1}, headers={"X-Delivery-Id": "d-1"})  # a retry of a pruned run's delivery
    assert again.status_code == 200 and again.json() == {"run_id": None, "status": "pruned", "duplicate": True}
    assert srv.runs("hooked") == []
    assert srv.store().conn.execute("PRAGMA foreign_key_check").fetchall() == []
