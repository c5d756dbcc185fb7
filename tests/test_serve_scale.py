"""A scheduler whose cost follows what is due: many workflows fire each tick exactly once (fake clock, a restart in
between), notebooks are picked up from file-system events, registration is one transaction, and a restarted server
serves unchanged notebooks from the store's record without parsing them."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from conftest import notebook
from servekit import ts, wait_for
from jetnb.clock import SystemClock
from jetnb.control.catalog import Catalog, Registered
from jetnb.control.plane import ControlPlane
from jetnb.store import Store, WorkflowRecord

MANY = 120


def ticking(name: str) -> list:
    return ["%%workflow\n" + f"name: {name}\ntriggers:\n  - interval: {{every: 1m}}", "1 + 1"]


def hooked(name: str, hook: str) -> list:
    return ["%%workflow\n" + f"name: {name}\ntriggers:\n  - webhook: {{name: {hook}, auth: none}}",
            ("params", "n: int = 0"), "n * 2"]


def test_many_workflows_fire_each_tick_exactly_once_across_a_restart(server):
    srv = server()
    for number in range(MANY):
        srv.workflow(f"w{number:03d}", ticking(f"w{number:03d}"))
    srv.start()
    store = srv.store()
    wait_for(lambda: len(store.registered_workflows()) == MANY, "every workflow registered")
    for number in range(1, MANY):  # paused: each tick is a recorded skip, no kernel; w000 runs for real
        store.set_paused(f"w{number:03d}", True, "test")
    minutes = ["2026-01-01T00:01:00+00:00", "2026-01-01T00:02:00+00:00"]
    for minute in minutes:
        srv.set_clock(ts(minute))
        wait_for(lambda: all(len(srv.fires(f"w{n:03d}")) == minutes.index(minute) + 1 for n in range(MANY)),
                 f"a fire row for every workflow at {minute}")
        srv.finished_runs("w000", minutes.index(minute) + 1)  # ended before the next tick (else overlap: skip)
    srv.stop()
    srv.start()  # served from the store's record: the same triggers, the same cursors
    srv.set_clock(ts("2026-01-01T00:03:00+00:00"))
    wait_for(lambda: all(len(srv.fires(f"w{n:03d}")) == 3 for n in range(MANY)), "a fire row for every workflow")
    srv.set_clock(ts("2026-01-01T00:03:30+00:00"))  # no tick due: nothing more may appear
    srv.finished_runs("w000", 3)
    for number in range(MANY):
        fires = srv.fires(f"w{number:03d}")
        assert [f["scheduled_at"] for f in fires] == [ts(m) for m in [*minutes, "2026-01-01T00:03:00+00:00"]]
        assert {f["outcome"] for f in fires} == ({"fired"} if number == 0 else {"skipped"})
    assert [r["status"] for r in srv.runs("w000")] == ["succeeded"] * 3


def test_added_changed_and_removed_notebooks_are_seen_from_file_system_events(server):
    srv = server()
    srv.workflow("first", hooked("first", "one"))
    srv.start()
    assert srv.hook("one", {"n": 1}).status_code == 202
    srv.workflow("second", hooked("second", "two"))
    wait_for(lambda: srv.hook("two", {"n": 2}).status_code == 202, "the added notebook served", timeout=20)
    srv.workflow("second", hooked("second", "renamed"))
    wait_for(lambda: srv.hook("renamed", {"n": 3}).status_code == 202, "the changed notebook served", timeout=20)
    assert srv.hook("two", {"n": 4}).status_code == 404
    (srv.notebooks / "broken.ipynb").write_text("{not json")
    (srv.notebooks / "second.ipynb").unlink()
    wait_for(lambda: srv.hook("renamed", {"n": 5}).status_code == 404, "the removed notebook gone", timeout=20)
    wait_for(lambda: "broken.ipynb" in srv.log(), "the bad notebook reported")
    assert srv.hook("one", {"n": 6}).status_code == 202  # a bad notebook never stops the server
    assert srv.proc.poll() is None


def test_registration_is_one_transaction_with_its_audit_entries(project: Path, caplog):
    folder = project / "notebooks"
    folder.mkdir()
    for number in range(MANY):
        notebook(ticking(f"w{number:03d}"), folder / f"w{number:03d}.ipynb")
    plane = ControlPlane(folder, store_path=project / "jetnb.db", runs_dir=project / "runs", max_runs=1,
                         clock=SystemClock())
    try:
        with caplog.at_level(logging.INFO, logger="jetnb.serve"):
            result = plane.sync()
        store = plane.store()
        assert len(result.added) == MANY and len(store.registered_workflows()) == MANY
        assert len(store.triggers()) == MANY
        assert len(store.audit_log(action="workflow.register")) == MANY
        assert [r.message for r in caplog.records if "register" in r.message] == [
            f"register: serving {MANY} workflow(s) ({MANY} new or changed, 0 gone) from {folder}"]
        assert not plane.sync()  # no event since: nothing re-read
    finally:
        plane.close()


def test_a_notebook_whose_digest_matches_the_store_is_served_unparsed(project: Path):
    folder = project / "notebooks"
    folder.mkdir()
    kept = notebook(hooked("kept", "kept"), folder / "kept.ipynb")
    edited = notebook(hooked("edited", "edited"), folder / "edited.ipynb")
    first = Catalog(folder)
    first.adopt(first.scan())
    store = Store(project / "jetnb.db")
    store.register_workflows([WorkflowRecord(s.name, str(s.path), s.digest, s.config,
                                             [(t.key, t.kind.name, t.spec) for t in s.triggers])
                              for s in first.served.values()])
    notebook(hooked("edited", "edited-again"), edited)

    restarted = Catalog(folder)
    restarted.remember(Registered(r.name, Path(r.path), r.digest, r.config, r.triggers)
                       for r in store.registered_workflows())
    restarted.adopt(restarted.scan())
    served = restarted.get("kept")
    assert served.model is None  # nothing parsed yet
    assert not served.stored and served.signature is not None  # registered without its file's (mtime, size): again
    assert restarted.hook("kept")[0] is served and restarted.hook("edited-again") is not None
    assert not restarted.get("edited").stored and restarted.hook("edited") is None
    assert [p.name for p in served.workflow.parameters] == ["n"] and served.model is not None  # loaded on demand
    assert served.config == json.loads(json.dumps(first.get("kept").config, default=str))  # as the store keeps it
    assert served.path == kept.resolve()
    assert json.loads(json.dumps(served.triggers[0].spec)) == first.get("kept").triggers[0].spec
