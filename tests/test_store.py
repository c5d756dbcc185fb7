from __future__ import annotations

import sqlite3
import threading
import time

import pytest

from jetnb.store import RunNotFound, Store
from jetnb.store.schema import MIGRATIONS


def test_new_store_is_wal_and_at_latest_schema(tmp_path):
    store = Store(tmp_path / "s" / "jetnb.db")
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    indexes = {r[0] for r in store.conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    assert {"runs_by_time", "runs_by_workflow", "runs_by_status"} <= indexes


def test_threads_opening_a_store_that_does_not_exist_yet_all_get_it(tmp_path):
    """Before a new file is in WAL mode, SQLite answers one of two connections setting it up "locked" at once (no busy
    wait); the first look of a server's group committer and its scanner, or two runs, open the store together."""
    refused: list[str] = []
    for attempt in range(40):  # bounded; without the retry about one attempt in ten was refused
        path = tmp_path / f"s{attempt}" / "jetnb.db"
        together = threading.Barrier(6)

        def open_it() -> None:
            together.wait(10)
            try:
                Store(path).close()
            except RuntimeError as exc:
                refused.append(str(exc))

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert Store(path).conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert refused == []


def test_store_from_the_future_is_refused(tmp_path):
    path = tmp_path / "jetnb.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    conn.close()
    with pytest.raises(RuntimeError, match="newer jetnb"):
        Store(path)


def test_runs_are_listed_newest_first_with_filters_and_paging(tmp_path):
    store = Store(tmp_path / "jetnb.db")
    ids = []
    for i in range(5):
        ids.append(store.create_run(workflow="a" if i % 2 else "b", notebook="x.ipynb", params={"i": i}))
        store.update_run(ids[-1], status="failed" if i == 4 else "succeeded")
        time.sleep(0.002)
    assert [r["id"] for r in store.list_runs()] == ids[::-1]
    assert [r["params"]["i"] for r in store.list_runs(workflow="a")] == [3, 1]
    assert [r["id"] for r in store.list_runs(status="failed")] == [ids[4]]
    first = store.list_runs(limit=2)
    after = store.list_runs(limit=2, before=(first[-1]["created_at"], first[-1]["id"]))
    assert [r["id"] for r in after] == [ids[2], ids[1]]


def test_run_ids_resolve_by_unique_prefix(tmp_path):
    store = Store(tmp_path / "jetnb.db")
    run_id = store.create_run(workflow="a", notebook="x.ipynb", params={})
    assert store.resolve_id(run_id[:-2]) == run_id
    with pytest.raises(RunNotFound, match="no run"):
        store.resolve_id("nope")


def test_runs_of_dead_processes_become_interrupted(tmp_path):
    store = Store(tmp_path / "jetnb.db")
    run_id = store.create_run(workflow="a", notebook="x.ipynb", params={}, status="running")
    store.update_run(run_id, pid=2**22 + 12345)  # no such process
    assert store.reap_orphans() == 1
    assert store.get_run(run_id)["status"] == "interrupted"
