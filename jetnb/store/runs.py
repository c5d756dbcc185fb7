"""Runs in the store: the one record of what ran, why, with what, who started it, and how it ended.

The store is also the source of truth for what is running: a run is
admitted from ``queued`` to ``running`` only inside one ``BEGIN IMMEDIATE``
transaction that counts the workflow's running runs, so ``concurrency`` and
``overlap: queue`` hold across every process sharing the file (a CLI run, a
widget, ``jetnb serve``).
"""

from __future__ import annotations

import os
import secrets
import socket
import sqlite3
import time
from datetime import datetime, timezone
from typing import Any, Callable

from ..protocol import RunStatus
from .rows import decode, encode, iso

_JSON_FIELDS = ("trigger_detail", "params", "result", "outputs", "error", "options")
_TEXT_FIELDS = ("cancel_reason",)
ID_DRAWS = 8  # new run ids drawn at most when the drawn ones are taken (see RunIdTaken)


class RunNotFound(LookupError):
    pass


class RunIdTaken(Exception):
    """A new run id that another run already has (24 random bits per second: at a thousand runs a second it
    happens); the caller draws another."""


class RunStateError(ValueError):
    """A lifecycle change the run's status does not allow (cancelling a finished run, resuming a running one)."""


def new_run_id(now: float | None = None) -> str:
    """Sortable and readable: ``20261126-091500-3f9c1a``."""
    stamp = datetime.fromtimestamp(now or time.time(), timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


def run_row(run_id: str, now: float, *, workflow: str, notebook: str, params: dict[str, Any], trigger: str,
            trigger_detail: dict[str, Any] | None = None, log_path: str | None = None, rerun_of: str | None = None,
            status: str = RunStatus.QUEUED, started_by: str | None = None, exclusive: bool = False,
            durable: bool = False, options: dict[str, Any] | None = None,
            process: tuple[str, int] | None = None) -> dict[str, Any]:
    """A new run's row as written (JSON columns encoded and masked), in ``_RUN_COLUMNS`` order; ``process`` is
    ``this_process()`` when the caller has it (a batch asks once)."""
    host, pid = process or this_process()
    return encode({
        "id": run_id, "workflow": workflow, "notebook": notebook, "status": str(status), "trigger": trigger,
        "trigger_detail": trigger_detail, "params": params, "log_path": log_path, "rerun_of": rerun_of,
        "created_at": now, "host": host, "pid": pid, "started_by": started_by, "exclusive": int(exclusive),
        "durable": int(durable), "options": options,
    }, _JSON_FIELDS, _TEXT_FIELDS)


_RUN_COLUMNS = ("id", "workflow", "notebook", "status", "trigger", "trigger_detail", "params", "log_path", "rerun_of",
                "created_at", "host", "pid", "started_by", "exclusive", "durable", "options")
_INSERT_RUN = f"INSERT INTO runs ({', '.join(_RUN_COLUMNS)}) VALUES ({', '.join('?' for _ in _RUN_COLUMNS)})"


def this_process() -> tuple[str, int]:
    return socket.gethostname(), os.getpid()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class RunsTable:
    """Mixin for ``Store``: the ``runs`` table and the transitions of a run's status."""

    conn: sqlite3.Connection
    transaction: Callable[[], Any]
    path: Any
    close_steps: Callable[..., None]
    audit: Callable[..., None]

    def create_run(self, *, workflow: str, notebook: str, params: dict[str, Any], trigger: str = "manual",
                   trigger_detail: dict[str, Any] | None = None, log_path: str | None = None,
                   rerun_of: str | None = None, status: str = RunStatus.QUEUED, run_id: str | None = None,
                   started_by: str | None = None, exclusive: bool = False, durable: bool = False,
                   options: dict[str, Any] | None = None) -> str:
        """``durable``: accepted work a server will run even if this process exits; else owned by this process.

        ``options``: how it executes beyond notebook and parameters (``service.options.RunOptions``), or None.
        """
        now = time.time()
        run_id = run_id or new_run_id(now)
        row = run_row(run_id, now, workflow=workflow, notebook=notebook, params=params, trigger=trigger,
                      trigger_detail=trigger_detail, log_path=log_path, rerun_of=rerun_of, status=status,
                      started_by=started_by, exclusive=exclusive, durable=durable, options=options)
        try:
            with self.transaction() as conn:
                conn.execute(_INSERT_RUN, list(row.values()))
        except sqlite3.IntegrityError as exc:
            if "runs.id" in str(exc):
                raise RunIdTaken(run_id) from None
            raise
        return run_id

    def insert_runs(self, rows: list[dict[str, Any]]) -> None:
        """Rows made by ``run_row`` in one statement, in the caller's transaction (ids from ``free_run_ids``)."""
        self.conn.executemany(_INSERT_RUN, [list(row.values()) for row in rows])

    def free_run_ids(self, count: int, now: float) -> list[str]:
        """``count`` new run ids, distinct and not in the store; inside the caller's transaction they stay free.

        Ids carry 24 random bits per second, so at a thousand runs a second
        some draws collide: those are drawn again (RunIdTaken after ``ID_DRAWS``)."""
        ids: set[str] = set()
        stamp = new_run_id(now)[:-6]
        for _ in range(ID_DRAWS):
            random = secrets.token_hex(3 * (count - len(ids)))  # one system call for the batch's random bits
            drawn = {stamp + random[start:start + 6] for start in range(0, len(random), 6)} - ids
            marks = ", ".join("?" for _ in drawn)
            taken = {r[0] for r in self.conn.execute(f"SELECT id FROM runs WHERE id IN ({marks})", list(drawn))}
            ids |= drawn - taken
            if len(ids) == count:
                return sorted(ids)
        raise RunIdTaken(f"no {count} free run ids in {ID_DRAWS} draws")

    def update_run(self, run_id: str, **fields: Any) -> None:
        row = encode({k: (str(v) if isinstance(v, RunStatus) else v) for k, v in fields.items()}, _JSON_FIELDS,
                     _TEXT_FIELDS)
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
            run["steps"] = self.steps(run_id)  # type: ignore[attr-defined]
            run["actions"] = self.actions(run_id)  # type: ignore[attr-defined]
            run["artifacts"] = self.artifacts(run_id)  # type: ignore[attr-defined]
            run["handler_runs"] = [{k: r[k] for k in ("id", "workflow", "status")} for r in self.handler_runs(run_id)]
        return run

    def list_runs(self, *, workflow: str | None = None, status: str | None = None, trigger: str | None = None,
                  limit: int = 20, before: tuple[float, str] | None = None) -> list[dict[str, Any]]:
        """Newest first; ``before`` is the (created_at, id) of the last row seen, for keyset paging."""
        where, args = [], []
        for column, value in (("workflow", workflow), ("status", status), ("trigger", trigger)):
            if value:
                where.append(f"{column} = ?")
                args.append(str(value))
        if before:
            where.append("(created_at, id) < (?, ?)")
            args.extend(before)
        sql = "SELECT * FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "")
        sql += " ORDER BY created_at DESC, id DESC LIMIT ?"
        return [decode(r, _JSON_FIELDS) for r in self.conn.execute(sql, [*args, limit])]

    def latest_run(self, workflow: str) -> dict[str, Any] | None:
        found = self.list_runs(workflow=workflow, limit=1)
        return found[0] if found else None

    def run_workflows(self, run_ids: list[str]) -> dict[str, str]:
        """Run id -> workflow name (ids not in the store are left out), in chunks SQLite's parameter limit allows."""
        found: dict[str, str] = {}
        for start in range(0, len(run_ids), 500):
            chunk = run_ids[start:start + 500]
            rows = self.conn.execute(f"SELECT id, workflow FROM runs WHERE id IN ({', '.join('?' for _ in chunk)})",
                                     chunk)
            found.update({r["id"]: r["workflow"] for r in rows})
        return found

    def handler_runs(self, run_id: str) -> list[dict[str, Any]]:
        """Runs of handler notebooks started because of this run."""
        rows = self.conn.execute("SELECT * FROM runs WHERE trigger = 'handler' AND "
                                 "json_extract(trigger_detail, '$.parent_run') = ? ORDER BY created_at", (run_id,))
        return [decode(r, _JSON_FIELDS) for r in rows]

    # what is running -------------------------------------------------------

    def count_runs(self, workflow: str, *statuses: str) -> int:
        marks = ", ".join("?" for _ in statuses)
        row = self.conn.execute(f"SELECT COUNT(*) FROM runs WHERE workflow = ? AND status IN ({marks})",
                                (workflow, *statuses)).fetchone()
        return int(row[0])

    def admit(self, run_id: str, limit: int, worker: str | None = None) -> RunStatus | None:
        """Move a queued run to running if its workflow has a free slot; returns the status it had if not admitted.

        None means admitted. A run that is no longer queued (cancelled, taken
        by another process) comes back with its status so the caller drops it.
        """
        host, pid = this_process()
        with self.transaction() as conn:
            row = conn.execute("SELECT workflow, status, exclusive, started_at FROM runs WHERE id = ?",
                               (run_id,)).fetchone()
            if row is None or row["status"] != RunStatus.QUEUED:
                return RunStatus(row["status"]) if row else RunStatus.CANCELLED
            running = self.count_runs(row["workflow"], RunStatus.RUNNING)
            if running >= limit or (row["exclusive"] and running):
                return RunStatus.QUEUED
            now = time.time()
            conn.execute("UPDATE runs SET status = 'running', started_at = COALESCE(started_at, ?), host = ?, "
                         "pid = ?, worker = ? WHERE id = ?",
                         (now, host, pid, worker or f"{host}:{pid}", run_id))
        return None

    def queued_ahead(self, workflow: str) -> list[dict[str, Any]]:
        """What a run waiting for a slot waits behind: the workflow's running runs."""
        rows = self.conn.execute("SELECT id, started_by, trigger FROM runs WHERE workflow = ? AND status = 'running' "
                                 "ORDER BY started_at", (workflow,))
        return [dict(r) for r in rows]

    def finish_run(self, run_id: str, status: RunStatus, *, error: dict[str, Any] | None = None,
                   result: Any = None, finished_at: float | None = None, **fields: Any) -> None:
        """The one way a run ends (or suspends): its status, error and result, and its steps closed, together."""
        final = status.final
        now = time.time() if finished_at is None else finished_at
        with self.transaction():
            run = self.conn.execute("SELECT started_at FROM runs WHERE id = ?", (run_id,)).fetchone()
            started = run["started_at"] if run else None
            self.update_run(run_id, status=status, error=error, result=result,
                            finished_at=now if final else None,
                            duration=round(now - started, 6) if started else None, **fields)
            if final:
                self.close_steps(run_id, cancelled=status == RunStatus.CANCELLED)

    # cancel --------------------------------------------------------------------

    def request_cancel(self, run_id: str, by: str | None, reason: str | None) -> RunStatus:
        """Cancel a queued or waiting run at once, or ask the process running it to stop; returns the status it had.

        Raises RunStateError for a run that has already ended.
        """
        with self.transaction():
            row = self.conn.execute("SELECT status, workflow FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise RunNotFound(f"no run {run_id!r} in {self.path}")
            status = RunStatus(row["status"])
            if status.final:
                raise RunStateError(f"run {run_id} has already ended ({status}); only queued, running or waiting "
                                    "runs can be cancelled")
            message = f"cancelled by {by or 'someone'}" + (f": {reason}" if reason else "")
            marks = {"cancel_requested_at": time.time(), "cancelled_by": by, "cancel_reason": reason}
            if status == RunStatus.RUNNING:
                self.update_run(run_id, **marks)
            else:
                self.finish_run(run_id, RunStatus.CANCELLED, error={"type": "Cancelled", "message": message},
                                **marks)
                self.close_approvals(run_id, by)  # type: ignore[attr-defined]
            self.audit(by, "run.cancelled", f"run:{run_id}",
                       {"reason": reason, "was": str(status), "workflow": row["workflow"]})
        return status

    def cancel_requests(self, run_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Of these running runs, the ones someone asked to cancel: id -> {by, reason}."""
        if not run_ids:
            return {}
        marks = ", ".join("?" for _ in run_ids)
        rows = self.conn.execute(f"SELECT id, cancelled_by, cancel_reason FROM runs WHERE id IN ({marks}) "
                                 "AND cancel_requested_at IS NOT NULL", run_ids)
        return {r["id"]: {"by": r["cancelled_by"], "reason": r["cancel_reason"]} for r in rows}

    # resume --------------------------------------------------------------------

    def requeue_for_resume(self, run_id: str, statuses: tuple[RunStatus, ...], *, durable: bool) -> bool:
        """Flip a stopped run back to queued (resuming), owned by this process, if it is still in one of
        ``statuses``; False if someone else changed it first."""
        host, pid = this_process()
        marks = ", ".join("?" for _ in statuses)
        with self.transaction() as conn:
            changed = conn.execute(
                f"UPDATE runs SET status = 'queued', resuming = 1, error = NULL, finished_at = NULL, "
                f"cancel_requested_at = NULL, cancelled_by = NULL, cancel_reason = NULL, host = ?, pid = ?, "
                f"durable = ? WHERE id = ? AND status IN ({marks})",
                (host, pid, int(durable), run_id, *[str(s) for s in statuses])).rowcount
        return bool(changed)

    def decided_waiting_runs(self) -> list[str]:
        """Waiting runs none of whose approval requests is still pending: ready to resume."""
        rows = self.conn.execute(
            "SELECT id FROM runs WHERE status = 'waiting' AND NOT EXISTS "
            "(SELECT 1 FROM approvals a WHERE a.run_id = runs.id AND a.status = 'pending') ORDER BY created_at")
        return [r["id"] for r in rows]

    # runs whose process is gone -------------------------------------------------

    def orphans(self) -> list[str]:
        """Runs running (or queued but not durable) here whose process no longer exists."""
        host, _ = this_process()
        rows = self.conn.execute(
            "SELECT id, pid FROM runs WHERE (status = 'running' OR (status = 'queued' AND durable = 0)) AND host = ?",
            (host,)).fetchall()
        return [r["id"] for r in rows if r["pid"] and not alive(r["pid"])]

    def reap_orphans(self) -> int:
        """Orphans become ``interrupted`` (see ``orphans``); returns how many."""
        dead = self.orphans()
        for run_id in dead:
            self.finish_run(run_id, RunStatus.INTERRUPTED,
                            error={"type": "Interrupted", "message": "the process running this run exited"})
        return len(dead)

    def claim_queued(self) -> list[str]:
        """Durable queued runs whose process is gone (a stopped or killed server) become this process's, oldest first."""
        host, pid = this_process()
        rows = self.conn.execute("SELECT id, pid FROM runs WHERE status = 'queued' AND durable = 1 AND host = ? "
                                 "ORDER BY created_at, id", (host,)).fetchall()
        claimed = [r["id"] for r in rows if not (r["pid"] and r["pid"] != pid and alive(r["pid"]))]
        with self.transaction() as conn:
            conn.executemany("UPDATE runs SET pid = ? WHERE id = ?", [(pid, run_id) for run_id in claimed])
        return claimed


_BOOKKEEPING = ("host", "pid", "durable", "resuming", "exclusive", "cancel_requested_at")


def public_run(run: dict[str, Any]) -> dict[str, Any]:
    """The run as shown to people and JSON clients: ISO times, no process bookkeeping."""
    out = {k: v for k, v in run.items() if k not in _BOOKKEEPING}
    for key in ("created_at", "started_at", "finished_at"):
        out[key] = iso(run.get(key))
    if "actions" in run:
        out["actions"] = [{**{k: v for k, v in a.items() if k not in ("run_id", "id")},
                           "started_at": iso(a.get("started_at"))} for a in run["actions"]]
    if "artifacts" in run:
        out["artifacts"] = [{**a, "created_at": iso(a.get("created_at"))} for a in run["artifacts"]]
    if "steps" in run:
        out["steps"] = [
            {**{k: v for k, v in s.items() if k != "run_id"}, "started_at": iso(s.get("started_at")),
             "finished_at": iso(s.get("finished_at"))}
            for s in run["steps"]
        ]
    return out
