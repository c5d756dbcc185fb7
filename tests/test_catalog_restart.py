"""A server restarting on a folder of notebooks: unchanged ones are served from the store's record without being read,
changed ones are parsed again, deleted ones are dropped; many new ones are registered in batches while the server
already answers, and a broken one among them is reported once."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from conftest import notebook
from servekit import wait_for
from jetnb.clock import SystemClock
from jetnb.control import plane as plane_module
from jetnb.control.catalog import Catalog
from jetnb.control.plane import ControlPlane


def daily(name: str) -> list:
    return ["%%workflow\n" + f"name: {name}\ntriggers:\n  - schedule: {{cron: '0 3 * * *'}}", "1 + 1"]


def hooked(name: str, hook: str) -> list:
    return ["%%workflow\n" + f"name: {name}\ntriggers:\n  - webhook: {{name: {hook}, auth: none}}", "1 + 1"]


def started(project: Path) -> ControlPlane:
    """A control plane as ``jetnb serve`` starts it (the store's record remembered, the first look taken)."""
    plane = ControlPlane(project / "notebooks", store_path=project / "jetnb.db", runs_dir=project / "runs",
                         max_runs=1, clock=SystemClock(), backend="local")
    plane.start()
    return plane


def stopped(plane: ControlPlane) -> None:
    plane.shutdown(5, threading.Event())
    plane.close()


def rows(plane: ControlPlane) -> dict[str, dict]:
    return {row["name"]: row for row in plane.store().workflow_states(include_removed=True)}


def test_a_restart_reads_only_what_changed_while_the_server_was_down(project: Path):
    folder = project / "notebooks"
    folder.mkdir()
    for name in ("kept", "edited", "deleted", "touched"):
        notebook(hooked(name, name), folder / f"{name}.ipynb")
    plane = started(project)
    before = rows(plane)
    assert sorted(plane.catalog.served) == ["deleted", "edited", "kept", "touched"]
    assert all(row["mtime_ns"] and row["size"] for row in before.values())  # each file's signature registered
    stopped(plane)

    notebook(hooked("edited", "edited-again"), folder / "edited.ipynb")
    (folder / "deleted.ipynb").unlink()
    touched = folder / "touched.ipynb"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 5_000_000_000))  # same bytes

    plane = started(project)
    try:
        after, catalog = rows(plane), plane.catalog
        kept, edited, touched_served = catalog.get("kept"), catalog.get("edited"), catalog.get("touched")
        assert kept.stored and kept.model is None  # size and mtime as registered: served from the record, unread
        assert after["kept"]["updated_at"] == before["kept"]["updated_at"]
        assert len(plane.store().audit_log("workflow:kept", action="workflow.register")) == 1  # not registered again
        assert len(plane.store().audit_log("workflow:edited", action="workflow.register")) == 2
        assert edited.model is not None and not edited.stored  # parsed again, registered again
        assert catalog.hook("edited-again") is not None and catalog.hook("edited") is None
        assert after["edited"]["hash"] != before["edited"]["hash"]
        assert after["edited"]["updated_at"] > before["edited"]["updated_at"]
        assert "deleted" not in catalog.served and after["deleted"]["removed_at"] is not None
        assert catalog.hook("deleted") is None
        assert touched_served.model is None and not touched_served.stored  # same digest: unparsed, new signature
        assert after["touched"]["mtime_ns"] == before["touched"]["mtime_ns"] + 5_000_000_000
        assert [r.name for r in plane.store().registered_workflows()] and \
            sorted(r.name for r in plane.store().registered_workflows()) == ["edited", "kept", "touched"]
    finally:
        stopped(plane)
    plane = started(project)  # the touched notebook's new signature was registered: now it is not even read
    try:
        assert plane.catalog.get("touched").stored and plane.catalog.get("edited").stored
    finally:
        stopped(plane)


def test_many_notebooks_are_registered_in_batches_each_parsed_once(project: Path, monkeypatch):
    folder = project / "notebooks"
    folder.mkdir()
    for number in range(300):
        notebook(daily(f"w{number:03d}"), folder / f"w{number:03d}.ipynb")
    (folder / "broken.ipynb").write_text('{"cells": [}')
    monkeypatch.setattr(plane_module, "PARSE_BATCH", 120)
    plane = ControlPlane(folder, store_path=project / "jetnb.db", runs_dir=project / "runs", max_runs=1,
                         clock=SystemClock())
    try:
        sizes, problems = [], []
        for _ in range(10):  # bounded: three looks are enough
            result = plane.sync()
            problems += result.problems
            sizes.append((len(plane.catalog.served), plane.catalog.pending, plane.catalog.found))
            if not plane.catalog.pending:
                break
        assert sizes == [(119, 181, 301), (239, 61, 301), (300, 0, 301)]  # broken.ipynb (read first) is never served
        assert len([p for p in problems if "broken.ipynb" in p]) == 1  # reported once
        store = plane.store()
        assert len(store.registered_workflows()) == 300 and len(store.triggers()) == 300
        assert len(store.audit_log(action="workflow.register")) == 300  # each registered once
        assert not plane.sync() and plane.catalog.pending == 0  # nothing left, nothing re-read
    finally:
        plane.close()


def test_a_pending_notebook_removed_before_its_turn_is_forgotten(project: Path):
    folder = project / "notebooks"
    folder.mkdir()
    for number in range(5):
        notebook(daily(f"w{number}"), folder / f"w{number}.ipynb")
    catalog = Catalog(folder)
    result = catalog.scan(budget=2)
    catalog.adopt(result)
    assert sorted(catalog.served) == ["w0", "w1"] and catalog.pending == 3
    (folder / "w4.ipynb").unlink()
    catalog.adopt(catalog.scan(budget=2))
    assert sorted(catalog.served) == ["w0", "w1", "w2", "w3"] and catalog.pending == 0 and catalog.found == 4


def test_notebooks_found_behind_links_and_in_hidden_or_excluded_folders(project: Path):
    folder = project / "notebooks"
    (folder / "sub" / "deeper").mkdir(parents=True)
    (folder / ".hidden").mkdir()
    (folder / "runs").mkdir()
    outside = project / "elsewhere"
    outside.mkdir()
    notebook(daily("top"), folder / "top.ipynb")
    notebook(daily("deep"), folder / "sub" / "deeper" / "deep.ipynb")
    notebook(daily("hidden"), folder / ".hidden" / "hidden.ipynb")
    notebook(daily("run"), folder / "runs" / "run.ipynb")
    notebook(daily("linked"), outside / "target.ipynb")
    (folder / "link.ipynb").symlink_to(outside / "target.ipynb")
    (folder / "linked-folder").symlink_to(outside, target_is_directory=True)  # not entered, as rglob does not
    catalog = Catalog(folder, exclude=(folder / "runs",))
    catalog.adopt(catalog.scan())
    assert sorted(catalog.served) == ["deep", "linked", "top"]
    assert catalog.get("linked").path == (outside / "target.ipynb").resolve()


@pytest.mark.slow
def test_a_server_answers_while_it_registers_many_new_notebooks(server):
    srv = server()
    count = plane_module.PARSE_BATCH * 2 + 50
    for number in range(count):
        srv.workflow(f"w{number:04d}", daily(f"w{number:04d}"))
    (srv.notebooks / "broken.ipynb").write_text("{not json")
    srv.start()
    health = srv.api("GET", "/api/health", token=None).json()
    assert health["notebooks"] == count + 1 and health["workflows"] + health["pending"] <= count + 1
    assert srv.api("GET", "/api/workflows").status_code == 200  # listing answers meanwhile
    final = wait_for(lambda: (h := srv.api("GET", "/api/health", token=None).json())["pending"] == 0 and h,
                     "every notebook read", timeout=180)
    assert final["workflows"] == count and final["notebooks"] == count + 1
    assert len(srv.api("GET", "/api/workflows").json()["workflows"]) == count
    wait_for(lambda: "broken.ipynb" in srv.log(), "the broken notebook reported")
    assert srv.log().count("broken.ipynb") == 1
    assert srv.proc.poll() is None
    srv.stop()
    srv.start()  # restart: every notebook from the store's record at once
    health = srv.api("GET", "/api/health", token=None).json()
    assert health["workflows"] == count


def test_batches_refuse_clashing_names_as_one_full_scan_does(project: Path):
    folder = project / "notebooks"
    folder.mkdir()
    notebook(hooked("x", "h"), folder / "a.ipynb")
    notebook(hooked("x", "other"), folder / "b.ipynb")  # the name a.ipynb has
    notebook(hooked("y", "h"), folder / "c.ipynb")  # the webhook a.ipynb has
    notebook(hooked("z", "z"), folder / "d.ipynb")
    whole = Catalog(folder)
    whole.adopt(everything := whole.scan())
    batched, problems = Catalog(folder), []
    for _ in range(6):  # bounded: four looks of one notebook each
        result = batched.scan(budget=1)
        batched.adopt(result)
        problems += result.problems
        if not batched.pending:
            break
    assert {n: s.path.name for n, s in batched.served.items()} == {n: s.path.name for n, s in whole.served.items()} \
        == {"x": "a.ipynb", "z": "d.ipynb"}
    assert sorted(problems) == sorted(everything.problems) and len(problems) == 2
    assert "b.ipynb: not served: workflow name 'x' is already served from" in problems[0]
    assert "c.ipynb: not served: webhook name 'h' is already served by workflow 'x'" in problems[1]
    assert batched.hook("h")[0].name == "x" and batched.hook("z")[0].name == "z"


def test_the_backend_is_made_once_every_notebook_found_is_registered(project: Path, monkeypatch):
    """A zygote and its warm kernels would take the second core from the parse while a first start registers."""
    folder = project / "notebooks"
    folder.mkdir()
    for number in range(12):
        notebook(daily(f"w{number:02d}"), folder / f"w{number:02d}.ipynb")
    monkeypatch.setattr(plane_module, "PARSE_BATCH", 5)
    made: list[str] = []
    monkeypatch.setattr(plane_module, "get_backend", made.append)
    plane = ControlPlane(folder, store_path=project / "jetnb.db", runs_dir=project / "runs", max_runs=1,
                         clock=SystemClock(), backend="forked")
    try:
        plane.start()
        assert (plane.catalog.pending, made) == (7, [])
        plane.sync()
        assert (plane.catalog.pending, made) == (2, [])
        plane.sync()
        assert (plane.catalog.pending, made) == (0, ["forked"])
        notebook(daily("late"), folder / "late.ipynb")
        wait_for(lambda: plane.sync() and "late" in plane.catalog.served, "the late notebook served")
        assert made == ["forked"]  # once
    finally:
        stopped(plane)
