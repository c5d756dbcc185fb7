"""Data-change snapshots: the last seen version of each record, by key, per data-change trigger.

The whole record is kept (not only its hash) so a deleted record can be
handed to the run that reacts to its deletion.
"""

from __future__ import annotations

import json
from typing import Any


class SnapshotsTable:
    """Mixin for ``Store``: the ``snapshots`` table."""

    def snapshot(self, workflow: str, key: str) -> dict[str, tuple[str, dict[str, Any]]]:
        """record key -> (hash, record)."""
        rows = self.conn.execute("SELECT record_key, hash, record FROM snapshots WHERE workflow = ? AND trigger_key = ?",
                                 (workflow, key))
        return {r[0]: (r[1], json.loads(r[2])) for r in rows}

    def update_snapshot(self, workflow: str, key: str, upserts: dict[str, tuple[str, dict[str, Any]]],
                        deletes: list[str]) -> None:
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO snapshots (workflow, trigger_key, record_key, hash, record) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (workflow, trigger_key, record_key) DO UPDATE SET hash = excluded.hash, "
                "record = excluded.record",
                [(workflow, key, rk, digest, json.dumps(record, default=str)) for rk, (digest, record) in upserts.items()])
            conn.executemany("DELETE FROM snapshots WHERE workflow = ? AND trigger_key = ? AND record_key = ?",
                             [(workflow, key, rk) for rk in deletes])
