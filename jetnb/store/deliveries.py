"""Webhook deliveries already accepted, by the sender's delivery id: a retried delivery finds its first run here."""

from __future__ import annotations

import time


class DeliveriesTable:
    """Mixin for ``Store``: the ``deliveries`` table."""

    def delivery_run(self, hook: str, delivery_id: str) -> str | None:
        row = self.conn.execute("SELECT run_id FROM deliveries WHERE hook = ? AND delivery_id = ?",
                                (hook, delivery_id)).fetchone()
        return row[0] if row else None

    def record_delivery(self, hook: str, delivery_id: str, run_id: str) -> None:
        with self.transaction() as conn:
            conn.execute("INSERT INTO deliveries (hook, delivery_id, run_id, received_at) VALUES (?, ?, ?, ?)",
                         (hook, delivery_id, run_id, time.time()))
