"""Artifacts of a run (``jetnb.artifact``): one row per name, which a later save of the same name replaces."""

from __future__ import annotations

import sqlite3
from typing import Any, Callable

from .rows import encode

_COLUMNS = "name, size, mime, sha256, step, description, created_at"


class ArtifactsTable:
    """Mixin for ``Store``: the ``artifacts`` table."""

    conn: sqlite3.Connection
    transaction: Callable[[], Any]

    def record_artifact(self, run_id: str, *, name: str, size: int, mime: str, sha256: str, created_at: float,
                        step: str | None = None, description: str | None = None) -> None:
        row = encode({"run_id": run_id, "name": name, "size": size, "mime": mime, "sha256": sha256, "step": step,
                      "description": description, "created_at": created_at}, (), ("description",))
        with self.transaction() as conn:
            conn.execute(f"INSERT OR REPLACE INTO artifacts ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)})",
                         list(row.values()))

    def artifacts(self, run_id: str) -> list[dict[str, Any]]:
        """The run's artifacts, in the order they were (last) saved (two saved in the same millisecond too)."""
        rows = self.conn.execute(f"SELECT {_COLUMNS} FROM artifacts WHERE run_id = ? ORDER BY created_at, rowid",
                                 (run_id,))
        return [dict(r) for r in rows]

    def get_artifact(self, run_id: str, name: str) -> dict[str, Any] | None:
        row = self.conn.execute(f"SELECT {_COLUMNS} FROM artifacts WHERE run_id = ? AND name = ?",
                                (run_id, name)).fetchone()
        return dict(row) if row else None

    def drop_artifacts(self, run_id: str, *, keep_steps: set[str]) -> list[str]:
        """Forget the run's artifacts not saved by one of ``keep_steps`` (resuming: the steps that will run again
        save theirs anew); returns their names, whose files the caller removes."""
        gone = [a["name"] for a in self.artifacts(run_id) if a["step"] not in keep_steps]
        with self.transaction() as conn:
            conn.executemany("DELETE FROM artifacts WHERE run_id = ? AND name = ?", [(run_id, n) for n in gone])
        return gone
