"""Webhook deliveries already accepted, by the sender's delivery id: a retried delivery finds its first run here."""

from __future__ import annotations

import sqlite3
import time

PRUNED = "pruned"  # what delivery_run answers for a delivery whose run retention removed (never a run id's shape)


class AlreadyDelivered(Exception):
    """A delivery id (or signed body) accepted before; ``run_id`` is the run it started."""

    def __init__(self, hook: str, delivery_id: str, run_id: str):
        super().__init__(f"webhook {hook}: delivery {delivery_id} was accepted before as run {run_id}")
        self.run_id = run_id


class DeliveriesTable:
    """Mixin for ``Store``: the ``deliveries`` table."""

    def delivery_run(self, hook: str, delivery_id: str) -> str | None:
        """The run a delivery id started; ``PRUNED`` if that run was removed since; None for a new delivery."""
        row = self.conn.execute("SELECT run_id FROM deliveries WHERE hook = ? AND delivery_id = ?",
                                (hook, delivery_id)).fetchone()
        if row is None:
            return None
        return row[0] or PRUNED

    def delivered(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
        """Of these (hook, delivery id) keys, the ones recorded before: key -> run id, or ``PRUNED``; one indexed
        query per hook among them (a batch's keys are mostly one hook's)."""
        by_hook: dict[str, list[str]] = {}
        for hook, delivery_id in dict.fromkeys(keys):
            by_hook.setdefault(hook, []).append(delivery_id)
        found: dict[tuple[str, str], str] = {}
        for hook, ids in by_hook.items():
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                rows = self.conn.execute("SELECT delivery_id, run_id FROM deliveries WHERE hook = ? AND delivery_id "
                                         f"IN ({', '.join('?' for _ in chunk)})", [hook, *chunk])
                found.update({(hook, r[0]): r[1] or PRUNED for r in rows})
        return found

    def record_deliveries(self, rows: list[tuple[str, str, str]]) -> None:
        """(hook, delivery id, run id) rows, new ones (see ``delivered``), in the caller's transaction."""
        now = time.time()
        self.conn.executemany("INSERT INTO deliveries (hook, delivery_id, run_id, received_at) VALUES (?, ?, ?, ?)",
                              [(*row, now) for row in rows])

    def record_delivery(self, hook: str, delivery_id: str, run_id: str) -> None:
        """Raises AlreadyDelivered when the id was recorded first by another delivery (two in flight at once)."""
        try:
            with self.transaction() as conn:
                conn.execute("INSERT INTO deliveries (hook, delivery_id, run_id, received_at) VALUES (?, ?, ?, ?)",
                             (hook, delivery_id, run_id, time.time()))
        except sqlite3.IntegrityError as exc:
            first = self.delivery_run(hook, delivery_id)
            if first is None:
                raise
            raise AlreadyDelivered(hook, delivery_id, first) from exc
