"""Retention in the store: which ended runs a rule lets go, and removing their rows together.

Selecting is a read; removing re-checks each run's status inside the
deleting transaction, so a run that was resumed (flipped back to ``queued``)
between the two is never removed. Rows that only point at a removed run
keep their own keys: a fire row stays the idempotency key of its tick, a
delivery id stays remembered so that a retry still starts nothing, a rerun
keeps existing; their ``run_id`` / ``rerun_of`` become NULL, so no foreign
key points nowhere.
"""

from __future__ import annotations

import sqlite3
from typing import Any, Callable

from ..protocol import RunStatus

FINAL = tuple(s.value for s in RunStatus if s.final)


class PruningTable:
    """Mixin for ``Store``: choosing and removing ended runs (``service/retention.py`` decides the rules)."""

    conn: sqlite3.Connection
    transaction: Callable[[], Any]

    def workflows_with_runs(self) -> list[str]:
        """Every workflow name that has runs in the store."""
        return [r[0] for r in self.conn.execute("SELECT DISTINCT workflow FROM runs ORDER BY workflow")]

    def prune_candidates(self, workflow: str, statuses: tuple[str, ...], *, keep_last: int | None,
                         ended_before: float | None) -> list[dict[str, Any]]:
        """Runs of ``workflow`` in ``statuses`` (final ones only) that are beyond the newest ``keep_last`` or ended
        before ``ended_before``; each with its ``rank`` (1 = newest) and ``ended_at``, newest first."""
        statuses = tuple(s for s in statuses if s in FINAL)
        if not statuses or (keep_last is None and ended_before is None):
            return []
        marks = ", ".join("?" for _ in statuses)
        rows = self.conn.execute(
            "SELECT * FROM (SELECT id, workflow, status, log_path, created_at, "
            "COALESCE(finished_at, created_at) AS ended_at, "
            "ROW_NUMBER() OVER (ORDER BY created_at DESC, id DESC) AS rank "
            f"FROM runs WHERE workflow = ? AND status IN ({marks})) "
            "WHERE (? IS NOT NULL AND rank > ?) OR (? IS NOT NULL AND ended_at < ?) ORDER BY rank",
            (workflow, *statuses, keep_last, keep_last, ended_before, ended_before))
        return [dict(r) for r in rows]

    def delete_runs(self, run_ids: list[str]) -> list[str]:
        """Remove these runs with their steps, actions, artifacts and approvals, in one transaction; returns the ids
        removed (a run that is not final any more is left alone). References to them from other rows become NULL."""
        removed: list[str] = []
        with self.transaction() as conn:
            for start in range(0, len(run_ids), 500):  # SQLite bounds the number of ? in one statement
                chunk = run_ids[start:start + 500]
                marks = ", ".join("?" for _ in chunk)
                final = ", ".join(f"'{s}'" for s in FINAL)
                ids = [r[0] for r in conn.execute(
                    f"SELECT id FROM runs WHERE id IN ({marks}) AND status IN ({final})", chunk)]
                if not ids:
                    continue
                marks = ", ".join("?" for _ in ids)
                conn.execute(f"UPDATE fires SET run_id = NULL WHERE run_id IN ({marks})", ids)
                conn.execute(f"UPDATE deliveries SET run_id = NULL WHERE run_id IN ({marks})", ids)
                conn.execute(f"UPDATE runs SET rerun_of = NULL WHERE rerun_of IN ({marks})", ids)
                conn.execute(f"DELETE FROM approvals WHERE run_id IN ({marks})", ids)
                conn.execute(f"DELETE FROM runs WHERE id IN ({marks})", ids)  # steps and actions cascade
                removed.extend(ids)
        return removed
