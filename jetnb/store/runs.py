"""Runs and steps in the store: the one record of what ran, why, with what, and how it ended."""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

from .approvals import ApprovalsMixin
from .db import connect, default_store_path
from .audit import AuditLog
from .deliveries import DeliveriesTable
from .fires import FiresTable
from .rows import decode, encode, iso
from .snapshots import SnapshotsTable
from .workflows import WorkflowsTable

RUN_STATUSES = ("queued", "running", "waiting", "succeeded", "failed", "interrupted")
FINAL_STATUSES = ("succeeded", "failed", "interrupted")
# Runs that the process recording them executes itself (the CLI, handler notebooks); a queued run from any other
# trigger waits for `jetnb serve`.
CLI_TRIGGERS = ("manual", "rerun", "handler")
_JSON_FIELDS = ("trigger_detail", "params", "result", "outputs", "error")
_STEP_JSON = ("error", "detail")


class RunNotFound(LookupError):
    pass


def new_run_id(now: float | None = None) -> str:
    """Sortable and readable: ``20261126-091500-3f9c1a``."""
    stamp = datetime.fromtimestamp(now or time.time(), timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


class Store(ApprovalsMixin, WorkflowsTable, FiresTable, DeliveriesTable, SnapshotsTable, AuditLog):
    """The SQLite store; cheap to open, safe to share between processes (WAL, busy timeout).

    One ``Store`` per thread: a transaction belongs to its connection.
    ``durable=True`` makes each commit survive a power cut as well as a crash
    (``synchronous=FULL``), for writes that are acknowledged to a caller.
    """

    def __init__(self, path: str | Path | None = None, *, durable: bool = False):
        self.path = Path(path) if path else default_store_path()
        self.conn = connect(self.path)
        if durable:
            self.conn.execute("PRAGMA synchronous=FULL")

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes inside commit together; a nested ``transaction`` joins the outer one."""
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # runs -------------------------------------------------------------

    def create_run(self, *, workflow: str, notebook: str, params: dict[str, Any], trigger: str = "manual",
                   trigger_detail: dict[str, Any] | None = None, log_path: str | None = None,
                   rerun_of: str | None = None, status: str = "queued", run_id: str | None = None,
                   started_by: str | None = None) -> str:
        now = time.time()
        run_id = run_id or new_run_id(now)
        row = encode({
            "id": run_id, "workflow": workflow, "notebook": notebook, "status": status, "trigger": trigger,
            "trigger_detail": trigger_detail, "params": params, "log_path": log_path, "rerun_of": rerun_of,
            "created_at": now, "host": socket.gethostname(), "pid": os.getpid(), "started_by": started_by,
        }, _JSON_FIELDS)
        with self.transaction() as conn:
            conn.execute(f"INSERT INTO runs ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                         list(row.values()))
        return run_id

    def update_run(self, run_id: str, **fields: Any) -> None:
        row = encode(fields, _JSON_FIELDS)
        with self.transaction() as conn:
            conn.execute(f"UPDATE runs SET {', '.join(f'{k} = ?' for k in row)} WHERE id = ?",
                         [*row.values(), run_id])

    def resolve_id(self, ref: str) -> str:
        """A full run id or a unique prefix of one (as ``git`` does for commits)."""
        rows = self.conn.execute("SELECT id FROM runs WHERE id >= ? AND id < ? ORDER BY id LIMIT 2",
                                 (ref, ref + "\uffff")).fetchall()
        if any(r["id"] == ref for r in rows):
            return ref
        if not rows:
            raise RunNotFound(f"no run {ref!r} in {self.path}")
        if len(rows) > 1:
            raise RunNotFound(f"run id {ref!r} is ambiguous; give more characters")
        return rows[0]["id"]

    def get_run(self, ref: str, *, with_steps: bool = True) -> dict[str, Any]:
        run_id = self.resolve_id(ref)
        row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        run = decode(row, _JSON_FIELDS)
        if with_steps:
            run["steps"] = self.steps(run_id)
            run["handler_runs"] = [{k: r[k] for k in ("id", "workflow", "status")} for r in self.handler_runs(run_id)]
        return run

    def list_runs(self, *, workflow: str | None = None, status: str | None = None, trigger: str | None = None,
                  limit: int = 20, before: tuple[float, str] | None = None) -> list[dict[str, Any]]:
        """Newest first; ``before`` is the (created_at, id) of the last row seen, for keyset paging."""
        where, args = [], []
        for column, value in (("workflow", workflow), ("status", status), ("trigger", trigger)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if before:
            where.append("(created_at, id) < (?, ?)")
            args.extend(before)
        sql = "SELECT * FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "")
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        return [decode(r, _JSON_FIELDS) for r in self.conn.execute(sql, [*args, limit])]

    def latest_run(self, workflow: str) -> dict[str, Any] | None:
        found = self.list_runs(workflow=workflow, limit=1)
        return found[0] if found else None

    def handler_runs(self, run_id: str) -> list[dict[str, Any]]:
        """Runs of handler notebooks started because of this run."""
        rows = self.conn.execute("SELECT * FROM runs WHERE trigger = 'handler' AND "
                                 "json_extract(trigger_detail, '$.parent_run') = ? ORDER BY created_at", (run_id,))
        return [decode(r, _JSON_FIELDS) for r in rows]

    def reap_orphans(self) -> int:
        """Runs left 'running' (or queued by the CLI) by a process on this host that no longer exists become 'interrupted'.

        Runs queued for ``jetnb serve`` (webhooks, schedules...) are accepted
        work: they stay queued until a server picks them up (``claim_queued``).
        """
        host = socket.gethostname()
        marks = ", ".join("?" for _ in CLI_TRIGGERS)
        rows = self.conn.execute(
            f"SELECT id, pid FROM runs WHERE (status = 'running' OR (status = 'queued' AND trigger IN ({marks}))) "
            "AND host = ?", (*CLI_TRIGGERS, host)).fetchall()
        dead = [r["id"] for r in rows if r["pid"] and not _alive(r["pid"])]
        for run_id in dead:
            with self.transaction():
                self.update_run(run_id, status="interrupted", finished_at=time.time(),
                                error={"type": "Interrupted", "message": "the process running this run exited"})
                self.close_steps(run_id)
        return len(dead)

    def claim_queued(self) -> list[str]:
        """Queued server runs whose process is gone (a stopped or killed server) become this process's, oldest first."""
        host = socket.gethostname()
        marks = ", ".join("?" for _ in CLI_TRIGGERS)
        rows = self.conn.execute(
            f"SELECT id, pid FROM runs WHERE status = 'queued' AND trigger NOT IN ({marks}) AND host = ? "
            "ORDER BY created_at, id", (*CLI_TRIGGERS, host)).fetchall()
        claimed = [r["id"] for r in rows if not (r["pid"] and r["pid"] != os.getpid() and _alive(r["pid"]))]
        with self.transaction() as conn:
            conn.executemany("UPDATE runs SET pid = ? WHERE id = ?", [(os.getpid(), run_id) for run_id in claimed])
        return claimed

    # steps ------------------------------------------------------------

    def save_step(self, run_id: str, seq: int, **fields: Any) -> None:
        row = encode({"run_id": run_id, "seq": seq, **fields}, _STEP_JSON)
        updates = ", ".join(f"{k} = excluded.{k}" for k in row if k not in ("run_id", "seq"))
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO steps ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)}) "
                f"ON CONFLICT (run_id, seq) DO UPDATE SET {updates}",
                list(row.values()),
            )

    def close_steps(self, run_id: str) -> None:
        """The run has ended: steps never started become ``not_run``, a step cut off ``interrupted``."""
        with self.transaction() as conn:
            conn.execute("UPDATE steps SET status = CASE status WHEN 'pending' THEN 'not_run' ELSE 'interrupted' END "
                         "WHERE run_id = ? AND status IN ('pending', 'running')", (run_id,))

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM steps WHERE run_id = ? ORDER BY seq", (run_id,))
        return [decode(r, _STEP_JSON) for r in rows]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def public_run(run: dict[str, Any]) -> dict[str, Any]:
    """The run as shown to people and JSON clients: ISO times, no host bookkeeping."""
    out = {k: v for k, v in run.items() if k not in ("host", "pid")}
    for key in ("created_at", "started_at", "finished_at"):
        out[key] = iso(run.get(key))
    if "steps" in run:
        out["steps"] = [
            {**{k: v for k, v in s.items() if k != "run_id"}, "started_at": iso(s.get("started_at")),
             "finished_at": iso(s.get("finished_at"))}
            for s in run["steps"]
        ]
    return out
