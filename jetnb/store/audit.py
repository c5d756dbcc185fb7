"""The audit log: who did what to which subject, and why, in the order it happened.

``jetnb serve`` writes what it fires, skips, pauses or cannot read (actor
``jetnb serve``, subject ``workflow:<name>`` or ``server``, the log line in
``detail.message``); people's own actions (``jetnb pause``) carry their
user name.
"""

from __future__ import annotations

import json
from typing import Any

from ..clock import now
from .rows import to_json


class AuditLog:
    """Mixin for ``Store``: the ``audit`` table."""

    def audit(self, actor: str | None, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
        self.conn.execute("INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
                          (now(), actor, action, subject, to_json(detail) if detail else None))

    def audit_many(self, entries: list[tuple[str | None, str, str, dict[str, Any] | None]]) -> None:
        """Several (actor, action, subject, detail) entries at once, in the caller's transaction."""
        at = now()
        self.conn.executemany("INSERT INTO audit (at, actor, action, subject, detail) VALUES (?, ?, ?, ?, ?)",
                              [(at, actor, action, subject, to_json(detail) if detail else None)
                               for actor, action, subject, detail in entries])

    def audit_log(self, subject: str | None = None, *, action: str | None = None,
                  limit: int = 1000) -> list[dict[str, Any]]:
        """Oldest first; ``subject`` and ``action`` filter exactly."""
        where, args = [], []
        for column, value in (("subject", subject), ("action", action)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        sql = ("SELECT * FROM (SELECT * FROM audit" + (f" WHERE {' AND '.join(where)}" if where else "")
               + " ORDER BY id DESC LIMIT ?) ORDER BY id")
        rows = self.conn.execute(sql, (*args, limit))
        return [{**dict(r), "detail": json.loads(r["detail"]) if r["detail"] else None} for r in rows]
