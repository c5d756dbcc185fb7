"""Data-change triggers on a real ``jetnb serve``: a SQLite table and a CSV file, across a restart; the sources alone."""

from __future__ import annotations

import json
import sqlite3
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from jetnb.triggers.base import SourceError
from jetnb.triggers.changes import diff
from jetnb.triggers.data_change import read_records

WATCH = ["%load_ext jetnb", """%%workflow
name: watch-orders
triggers:
  - data_change: {source: {sqlite: shop.db, query: 'SELECT id, status FROM orders ORDER BY id'}, every: 30s}
""", ("params", "change: str = ''  # created, updated or deleted\nrecord: dict = {}  # the row"),
         "%%result\n{'change': change, 'record': record}"]

PEOPLE = ["%load_ext jetnb", """%%workflow
name: people
triggers:
  - data_change: {source: {file: people.csv}, key: email, every: 1m, batch: true, on: [created, deleted]}
""", ("params", "changes: list = []"), "%%result\nsorted((c['change'], c['record']['email']) for c in changes)"]


def shop(path, *statements: str) -> None:
    with sqlite3.connect(path) as db:
        for statement in statements:
            db.execute(statement)


def results(runs: list[dict]) -> list[tuple[str, dict]]:
    return sorted((r["result"]["change"], r["result"]["record"]) for r in runs)


def test_sqlite_insert_update_delete_each_start_one_run_even_across_a_restart(server):
    srv = server()
    db = srv.notebooks / "shop.db"
    shop(db, "CREATE TABLE orders (id INTEGER PRIMARY KEY, status TEXT)", "INSERT INTO orders VALUES (1, 'new')",
         "INSERT INTO orders VALUES (2, 'new')")
    srv.workflow("watch", WATCH)
    srv.start()
    srv.event("baseline", "2 record(s)")
    shop(db, "INSERT INTO orders VALUES (3, 'new')", "UPDATE orders SET status = 'paid' WHERE id = 1",
         "DELETE FROM orders WHERE id = 2")
    srv.advance(30)
    runs = srv.finished_runs("watch-orders", 3)
    assert results(runs) == [("created", {"id": 3, "status": "new"}), ("deleted", {"id": 2, "status": "new"}),
                             ("updated", {"id": 1, "status": "paid"})]
    assert all(r["trigger"] == "data_change" and r["status"] == "succeeded" for r in runs)
    assert runs[0]["trigger_detail"]["changes"] == [{"change": runs[0]["params"]["change"],
                                                     "key": [runs[0]["params"]["record"]["id"]]}]
    assert srv.stop() == 0

    shop(db, "UPDATE orders SET status = 'shipped' WHERE id = 3")  # while the server is down
    srv.start()
    assert results(srv.finished_runs("watch-orders", 4)[3:]) == [("updated", {"id": 3, "status": "shipped"})]
    shop(db, "INSERT INTO orders VALUES (4, 'new')")
    srv.advance(30)
    runs = srv.finished_runs("watch-orders", 5)
    assert results(runs[4:]) == [("created", {"id": 4, "status": "new"})]  # the change seen at start, only once
    assert srv.stop() == 0


def test_csv_file_batch_with_a_source_error_first(server):
    srv = server()
    csv = srv.notebooks / "people.csv"
    srv.workflow("people", PEOPLE)
    srv.start()
    error = srv.event("source_error", "people.csv")
    assert "No such file" in error["message"]
    csv.write_text("email,name\nada@example.com,Ada\ngrace@example.com,Grace\n")
    srv.advance(60)
    srv.event("baseline", "2 record(s)")
    srv.event("source_ok", "readable again")
    csv.write_text("email,name\nada@example.com,Ada L.\nlin@example.com,Lin\nalan@example.com,Alan\n")
    srv.advance(60)
    run = srv.finished_runs("people", 1)[0]
    assert run["status"] == "succeeded", run["error"]
    assert run["result"] == [["created", "alan@example.com"], ["created", "lin@example.com"],
                             ["deleted", "grace@example.com"]]  # Ada's update is not in `on`
    assert len(run["trigger_detail"]["changes"]) == 3
    assert srv.stop() == 0


def test_json_file_and_http_sources(tmp_path):
    (tmp_path / "items.json").write_text(json.dumps([{"id": 1, "n": "a"}, {"id": 2, "n": "b"}]))
    assert read_records({"file": "items.json"}, tmp_path) == [{"id": 1, "n": "a"}, {"id": 2, "n": "b"}]
    (tmp_path / "bad.json").write_text('{"id": 1}')
    with pytest.raises(SourceError, match="expected a JSON list of objects"):
        read_records({"file": "bad.json"}, tmp_path)

    class Items(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = json.dumps([{"id": 1, "seen": self.headers.get("X-Key")}]).encode()
            self.send_response(200 if self.path == "/items" else 500)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Items)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{httpd.server_address[1]}"
        assert read_records({"url": f"{url}/items", "headers": {"X-Key": "k"}}, tmp_path) == [{"id": 1, "seen": "k"}]
        with pytest.raises(SourceError, match="500"):
            read_records({"url": f"{url}/broken"}, tmp_path)
    finally:
        httpd.shutdown()
        httpd.server_close()

    changes, upserts, deleted = diff({}, [{"id": 1}], ["id"])
    assert [(c.kind, c.key) for c in changes] == [("created", "[1]")] and deleted == []
    with pytest.raises(SourceError, match="no key column id"):
        diff({}, [{"name": "x"}], ["id"])
    with pytest.raises(SourceError, match="two records have the key"):
        diff({}, [{"id": 1}, {"id": 1}], ["id"])
