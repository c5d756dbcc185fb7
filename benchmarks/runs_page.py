"""The runs page with 100,000 runs: keyset pages (what jetnb uses) beside OFFSET pages (the usual baseline).

Fills a fresh store with N runs (default 100,000) across 5 workflows, 4
statuses and 4 triggers, then times one page of 50 at the start, the middle
and the end of the history, unfiltered and filtered, both ways. Prints
milliseconds per page (median of 5).
    python benchmarks/runs_page.py [N]
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

PAGE = 50


def fill(store, count: int) -> None:
    rows = []
    base = time.time() - count
    for i in range(count):
        rows.append((f"r{i:08d}", f"wf{i % 5}", "x.ipynb", ("succeeded", "failed", "waiting", "interrupted")[i % 4],
                     ("manual", "schedule", "webhook", "api")[i % 4], "{}", base + i))
    with store.transaction() as conn:
        conn.executemany("INSERT INTO runs (id, workflow, notebook, status, trigger, params, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?)", rows)


def timed(action) -> float:
    samples = []
    for _ in range(5):
        start = time.perf_counter()
        action()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main(count: int) -> None:
    from jetnb.store import Store

    store = Store(Path(tempfile.mkdtemp()) / "jetnb.db")
    fill(store, count)
    print(f"{count} runs; one page of {PAGE}, milliseconds (median of 5)")
    print(f"{'page':<34} {'keyset':>8} {'offset':>8}")
    for label, filters in (("all", {}), ("workflow=wf3", {"workflow": "wf3"}), ("status=failed", {"status": "failed"}),
                           ("trigger=webhook", {"trigger": "webhook"})):
        where = " AND ".join(f"{k} = ?" for k in filters)
        sql = "SELECT * FROM runs" + (f" WHERE {where}" if where else "") + " ORDER BY created_at DESC, id DESC"
        matching = store.conn.execute(f"SELECT count(*) FROM ({sql})", list(filters.values())).fetchone()[0]
        for position, fraction in (("first", 0.0), ("middle", 0.5), ("last", 0.999)):
            skip = int(matching * fraction)
            cursor_row = store.conn.execute(f"{sql} LIMIT 1 OFFSET ?", [*filters.values(), skip]).fetchone()
            cursor = None if skip == 0 else (cursor_row["created_at"], cursor_row["id"])
            keyset = timed(lambda: store.list_runs(limit=PAGE, before=cursor, **filters))
            offset = timed(lambda: store.conn.execute(f"{sql} LIMIT ? OFFSET ?",
                                                      [*filters.values(), PAGE, skip]).fetchall())
            print(f"{label + ' / ' + position:<34} {keyset:>8.2f} {offset:>8.2f}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
