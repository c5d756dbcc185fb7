"""Time-trigger fires: one row per scheduled tick handled, fired or skipped, keyed by its scheduled time.

``UNIQUE (workflow, trigger_key, scheduled_at)`` is the idempotency key: the
row and the run it starts are written in one transaction, so a tick fires at
most once however the server stops; the newest row is where the next start
resumes from.
"""

from __future__ import annotations

import sqlite3
import time
from typing import Any, Collection

from .rows import MAX_NAMED


class AlreadyFired(Exception):
    """This tick has a fire row already (a second server on the same store, or a retried write)."""


class FiresTable:
    """Mixin for ``Store``: the ``fires`` table."""

    def fire_cursor(self, workflow: str, key: str) -> float | None:
        """The newest tick already handled for this trigger."""
        row = self.conn.execute("SELECT MAX(scheduled_at) FROM fires WHERE workflow = ? AND trigger_key = ?",
                                (workflow, key)).fetchone()
        return row[0]

    def fire_cursors(self, workflows: Collection[str] | None = None) -> dict[tuple[str, str], float]:
        """Per registered trigger (of ``workflows``, or all): the newest tick handled, or when it was registered if
        none was; ticks after it are the ones still to handle. One query for a server's 10,000 triggers, or for the
        few hundred of a batch of new notebooks (asking for all at each batch would read them all each time)."""
        names = sorted(workflows) if workflows is not None else None
        if names is not None and len(names) > MAX_NAMED:
            names = None  # one query for all is cheaper than many for most
        where = f"WHERE t.workflow IN ({', '.join('?' * len(names))}) " if names is not None else ""
        rows = self.conn.execute(
            "SELECT t.workflow, t.key, MAX(t.registered_at, COALESCE(MAX(f.scheduled_at), 0)) AS cursor "
            "FROM triggers t LEFT JOIN fires f ON f.workflow = t.workflow AND f.trigger_key = t.key "
            f"{where}GROUP BY t.workflow, t.key", names or ())
        return {(r["workflow"], r["key"]): r["cursor"] for r in rows}

    def record_fire(self, workflow: str, key: str, scheduled_at: float, outcome: str, *, reason: str | None = None,
                    run_id: str | None = None) -> None:
        try:
            with self.transaction() as conn:
                conn.execute("INSERT INTO fires (workflow, trigger_key, scheduled_at, fired_at, outcome, reason, run_id) "
                             "VALUES (?, ?, ?, ?, ?, ?, ?)",
                             (workflow, key, scheduled_at, time.time(), outcome, reason, run_id))
        except sqlite3.IntegrityError as exc:
            if "UNIQUE" not in str(exc):
                raise
            raise AlreadyFired(f"{workflow} {key} at {scheduled_at}") from None

    def fires(self, workflow: str, key: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first, each with the status of the run it started."""
        where, args = "f.workflow = ?", [workflow]
        if key:
            where += " AND f.trigger_key = ?"
            args.append(key)
        rows = self.conn.execute(
            f"SELECT f.*, r.status AS run_status FROM fires f LEFT JOIN runs r ON r.id = f.run_id WHERE {where} "
            "ORDER BY f.scheduled_at DESC, f.id DESC LIMIT ?", (*args, limit))
        return [dict(r) for r in rows]
