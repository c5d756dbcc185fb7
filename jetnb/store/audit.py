"""The audit log: what the server fired, skipped, paused or failed to read, and why, in the order it happened."""

from __future__ import annotations

import time
from typing import Any

from .rows import decode, encode


class AuditLog:
    """Mixin for ``Store``: the ``events`` table."""

    def add_event(self, kind: str, message: str, *, workflow: str | None = None,
                  detail: dict[str, Any] | None = None) -> None:
        row = encode({"at": time.time(), "workflow": workflow, "kind": kind, "message": message, "detail": detail},
                     ("detail",))
        with self.transaction() as conn:
            conn.execute("INSERT INTO events (at, workflow, kind, message, detail) VALUES (?, ?, ?, ?, ?)",
                         tuple(row.values()))

    def events(self, *, workflow: str | None = None, kind: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Newest first."""
        where, args = [], []
        for column, value in (("workflow", workflow), ("kind", kind)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        sql = "SELECT * FROM events" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id DESC LIMIT ?"
        return [decode(r, ("detail",)) for r in self.conn.execute(sql, (*args, limit))]
