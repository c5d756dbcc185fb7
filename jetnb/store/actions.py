"""Action calls of a run (``jetnb.actions``: an HTTP request, an email...), each under the step that made it."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any, Callable

from .rows import decode, encode

_JSON = ("error", "detail")


class ActionsTable:
    """Mixin for ``Store``: the ``actions`` table."""

    conn: sqlite3.Connection
    transaction: Callable[[], Any]

    def record_action(self, run_id: str, *, action: str, status: str, step: str | None = None,
                      target: str | None = None, started_at: str | None = None, duration: float | None = None,
                      attempts: int | None = None, error: dict[str, Any] | None = None,
                      detail: dict[str, Any] | None = None) -> None:
        started = datetime.fromisoformat(started_at).timestamp() if started_at else None
        row = encode({"run_id": run_id, "step": step, "action": action, "target": target, "status": status,
                      "started_at": started, "duration": duration, "attempts": attempts, "error": error,
                      "detail": detail}, _JSON, ("target",))
        with self.transaction() as conn:
            conn.execute(f"INSERT INTO actions ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                         list(row.values()))

    def actions(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM actions WHERE run_id = ? ORDER BY id", (run_id,))
        return [decode(r, _JSON) for r in rows]
