"""Served workflows in the store: where each notebook is, its triggers, and whether its automatic triggers are paused.

Written by ``jetnb serve`` as it finds notebooks; read by ``jetnb schedules``,
``jetnb runs`` and the API. ``jetnb pause`` writes here too, so the server
reads the paused flag from the store each time it fires rather than caching it.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from .rows import MAX_NAMED, decode, to_json

_WORKFLOW_JSON = ("config",)
_TRIGGER_JSON = ("spec",)


class WorkflowNotFound(LookupError):
    pass


@dataclass(frozen=True)
class WorkflowRecord:
    """A served workflow as registered: where its notebook is, the digest of its bytes, its config and triggers, and
    the file's (mtime_ns, size) when it was read."""

    name: str
    path: str
    digest: str
    config: dict[str, Any]
    triggers: list[tuple[str, str, dict[str, Any]]]  # (key, kind, spec)
    signature: tuple[int, int] | None = None


class WorkflowsTable:
    """Mixin for ``Store``: the ``workflows`` and ``triggers`` tables."""

    def register_workflow(self, name: str, path: str, digest: str, config: dict[str, Any],
                          triggers: list[tuple[str, str, dict[str, Any]]], now: float | None = None) -> None:
        """Add or refresh a workflow and its triggers (key, kind, spec); a trigger keeps the time it was first seen."""
        self.register_workflows([WorkflowRecord(name, path, digest, config, triggers)], now=now)

    def register_workflows(self, records: list[WorkflowRecord], now: float | None = None) -> None:
        """``register_workflow`` for many, in one transaction (a server starting on 10,000 notebooks: one commit)."""
        now = time.time() if now is None else now
        with self.transaction() as conn:
            conn.executemany(
                "INSERT INTO workflows (name, path, hash, config, registered_at, updated_at, mtime_ns, size) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET path = excluded.path, hash = excluded.hash, "
                "config = excluded.config, updated_at = excluded.updated_at, removed_at = NULL, "
                "mtime_ns = excluded.mtime_ns, size = excluded.size",
                [(r.name, r.path, r.digest, to_json(r.config), now, now, *(r.signature or (None, None)))
                 for r in records])
            conn.executemany(
                "INSERT INTO triggers (workflow, key, kind, spec, registered_at) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (workflow, key) DO UPDATE SET spec = excluded.spec",
                [(r.name, key, kind, to_json(spec), now) for r in records for key, kind, spec in r.triggers])
            kept = {(r.name, key) for r in records for key, _, _ in r.triggers}
            self._drop_triggers([pair for pair in self._trigger_keys([r.name for r in records]) if pair not in kept])

    def registered_workflows(self) -> list[WorkflowRecord]:
        """Every workflow served (not removed), with its triggers: what a restarting server can serve unparsed.

        Two queries, and the JSON columns decoded as one array each (a
        ``json.loads`` per row was most of a 10,000-workflow restart's read).
        """
        rows = self.conn.execute("SELECT workflow, key, kind, spec FROM triggers ORDER BY workflow, key").fetchall()
        triggers: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
        for row, spec in zip(rows, _json_column(rows, "spec")):
            triggers.setdefault(row["workflow"], []).append((row["key"], row["kind"], spec))
        rows = self.conn.execute("SELECT name, path, hash, config, mtime_ns, size FROM workflows "
                                 "WHERE removed_at IS NULL").fetchall()
        return [WorkflowRecord(r["name"], r["path"], r["hash"], config, triggers.get(r["name"], []),
                               None if r["mtime_ns"] is None else (r["mtime_ns"], r["size"]))
                for r, config in zip(rows, _json_column(rows, "config"))]

    def remove_workflow(self, name: str, now: float | None = None) -> None:
        """The notebook is gone: its triggers stop; the row stays so pause state and history survive a re-add."""
        with self.transaction() as conn:
            conn.execute("UPDATE workflows SET removed_at = ? WHERE name = ?", (time.time() if now is None else now, name))
            self._drop_triggers(self._trigger_keys([name]))

    def _trigger_keys(self, names: list[str]) -> list[tuple[str, str]]:
        """(workflow, key) of every trigger the store has for these workflows: a query per ``MAX_NAMED`` names."""
        found: list[tuple[str, str]] = []
        for start in range(0, len(names), MAX_NAMED):
            chunk = names[start:start + MAX_NAMED]
            found += [(row["workflow"], row["key"]) for row in self.conn.execute(
                f"SELECT workflow, key FROM triggers WHERE workflow IN ({', '.join('?' * len(chunk))})", chunk)]
        return found

    def _drop_triggers(self, stale: list[tuple[str, str]]) -> None:
        """Forget these (workflow, key) triggers and the data-change snapshots they kept."""
        self.conn.executemany("DELETE FROM snapshots WHERE workflow = ? AND trigger_key = ?", stale)
        self.conn.executemany("DELETE FROM triggers WHERE workflow = ? AND key = ?", stale)

    def workflow_state(self, name: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM workflows WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise WorkflowNotFound(f"no workflow {name!r} in {self.path} (has `jetnb serve` seen it?)")
        return _state(row)

    def is_paused(self, name: str) -> bool:
        """One indexed read (time triggers and data sources ask before each fire); an unknown workflow is not paused."""
        row = self.conn.execute("SELECT paused FROM workflows WHERE name = ?", (name,)).fetchone()
        return bool(row and row[0])

    def paused_among(self, names: set[str]) -> set[str]:
        """Which of these workflows are paused (one read for a batch of submissions)."""
        if not names:
            return set()
        marks = ", ".join("?" for _ in names)
        return {r[0] for r in self.conn.execute(f"SELECT name FROM workflows WHERE paused = 1 AND name IN ({marks})",
                                                list(names))}

    def workflow_states(self, *, include_removed: bool = False) -> list[dict[str, Any]]:
        where = "" if include_removed else " WHERE removed_at IS NULL"
        return [_state(r) for r in self.conn.execute(f"SELECT * FROM workflows{where} ORDER BY name")]

    def triggers(self, workflow: str | None = None, kinds: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        where, args = [], []
        if workflow:
            where.append("workflow = ?")
            args.append(workflow)
        if kinds:
            where.append(f"kind IN ({', '.join('?' for _ in kinds)})")
            args.extend(kinds)
        sql = "SELECT * FROM triggers" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY workflow, key"
        return [decode(r, _TRIGGER_JSON) for r in self.conn.execute(sql, args)]

    def trigger(self, workflow: str, key: str) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT * FROM triggers WHERE workflow = ? AND key = ?", (workflow, key)).fetchone()
        return decode(row, _TRIGGER_JSON) if row else None

    def mark_baseline(self, workflow: str, key: str, now: float) -> None:
        with self.transaction() as conn:
            conn.execute("UPDATE triggers SET baseline_at = ? WHERE workflow = ? AND key = ?", (now, workflow, key))

    def set_paused(self, name: str, paused: bool, reason: str | None = None, now: float | None = None) -> bool:
        """Pause or resume automatic triggers; resuming resets the failure count. Returns whether anything changed."""
        self.workflow_state(name)
        with self.transaction() as conn:
            if paused:
                cur = conn.execute("UPDATE workflows SET paused = 1, paused_at = ?, pause_reason = ? "
                                   "WHERE name = ? AND paused = 0", (time.time() if now is None else now, reason, name))
            else:
                cur = conn.execute("UPDATE workflows SET paused = 0, paused_at = NULL, pause_reason = NULL, "
                                   "consecutive_failures = 0 WHERE name = ? AND (paused = 1 OR consecutive_failures > 0)",
                                   (name,))
            return cur.rowcount > 0

    def count_outcome(self, name: str, status: str) -> int | None:
        """A run ended: success resets the consecutive-failure count, failure adds one; returns the new count."""
        change = {"succeeded": "0", "failed": "consecutive_failures + 1"}.get(status)
        if change is None:
            row = self.conn.execute("SELECT consecutive_failures FROM workflows WHERE name = ?", (name,)).fetchone()
            return row[0] if row else None
        with self.transaction() as conn:
            conn.execute(f"UPDATE workflows SET consecutive_failures = {change} WHERE name = ?", (name,))
            row = conn.execute("SELECT consecutive_failures FROM workflows WHERE name = ?", (name,)).fetchone()
        return row[0] if row else None


def _json_column(rows: list[Any], column: str) -> list[Any]:
    """Each row's JSON text in ``column``, decoded in one call (the texts are JSON values jetnb wrote)."""
    return json.loads("[" + ",".join(row[column] for row in rows) + "]") if rows else []


def _state(row: Any) -> dict[str, Any]:
    state = decode(row, _WORKFLOW_JSON)
    state["paused"] = bool(state["paused"])
    return state
