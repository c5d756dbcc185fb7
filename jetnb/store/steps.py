"""Step rows of a run: one per planned step, updated from the kernel's step events."""

from __future__ import annotations

import sqlite3
from typing import Any, Callable

from .rows import decode, encode

_STEP_JSON = ("error", "detail")


class StepsTable:
    """Mixin for ``Store``: the ``steps`` table."""

    conn: sqlite3.Connection
    transaction: Callable[[], Any]

    def save_step(self, run_id: str, seq: int, **fields: Any) -> None:
        row = encode({"run_id": run_id, "seq": seq, **{k: (str(v) if hasattr(v, "value") else v)
                                                        for k, v in fields.items()}}, _STEP_JSON)
        updates = ", ".join(f"{k} = excluded.{k}" for k in row if k not in ("run_id", "seq"))
        with self.transaction() as conn:
            conn.execute(
                f"INSERT INTO steps ({', '.join(row)}) VALUES ({', '.join('?' for _ in row)}) "
                f"ON CONFLICT (run_id, seq) DO UPDATE SET {updates}",
                list(row.values()),
            )

    def reset_steps(self, run_id: str) -> None:
        """A run (re)starts: its step rows are planned afresh."""
        with self.transaction() as conn:
            conn.execute("DELETE FROM steps WHERE run_id = ?", (run_id,))

    def close_steps(self, run_id: str, *, cancelled: bool = False) -> None:
        """The run has ended: steps never started become ``not_run``, a step cut off ``interrupted`` — or
        ``cancelled`` when someone cancelled the run (the kernel reports the interrupt it was given)."""
        cut = "cancelled" if cancelled else "interrupted"
        cut_off = ("running", "waiting", "interrupted") if cancelled else ("running", "waiting")
        marks = ", ".join("?" for _ in cut_off)
        with self.transaction() as conn:
            conn.execute("UPDATE steps SET status = CASE status WHEN 'pending' THEN 'not_run' ELSE ? END "
                         f"WHERE run_id = ? AND status IN ('pending', {marks})", (cut, run_id, *cut_off))

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM steps WHERE run_id = ? ORDER BY seq", (run_id,))
        return [decode(r, _STEP_JSON) for r in rows]
