"""What changed between two readings of a poll trigger's records, and the parameters of the runs that follow.

Records are compared by their key columns with the last snapshot (kept by
``store/snapshots.py``); the control plane decides what to run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from .base import SourceError


@dataclass(frozen=True)
class Change:
    kind: str  # created | updated | deleted
    key: str
    record: dict[str, Any]  # the new version; for a deletion, the last one seen

    def to_param(self) -> dict[str, Any]:
        return {"change": self.kind, "record": self.record}


Snapshot = dict[str, tuple[str, dict[str, Any]]]  # record key -> (hash, record)


def record_key(record: dict[str, Any], keys: list[str]) -> str:
    missing = [k for k in keys if k not in record]
    if missing:
        raise SourceError(f"a record has no key column {', '.join(missing)}: {json.dumps(record, default=str)[:80]}")
    return json.dumps([record[k] for k in keys], default=str)


def record_hash(record: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, default=str).encode()).hexdigest()


def diff(snapshot: Snapshot, records: list[dict[str, Any]], keys: list[str]) -> tuple[list[Change], Snapshot, list[str]]:
    """The changes from ``snapshot`` to ``records``, plus the snapshot rows to upsert and the keys to delete."""
    current: Snapshot = {}
    for record in records:
        key = record_key(record, keys)
        if key in current:
            raise SourceError(f"two records have the key {key}; `key` must identify one record")
        current[key] = (record_hash(record), record)
    changes: list[Change] = []
    upserts: Snapshot = {}
    for key, (digest, record) in current.items():
        old = snapshot.get(key)
        if old is None or old[0] != digest:
            changes.append(Change("created" if old is None else "updated", key, record))
            upserts[key] = (digest, record)
    deleted = [key for key in snapshot if key not in current]
    changes.extend(Change("deleted", key, snapshot[key][1]) for key in deleted)
    return changes, upserts, deleted


def change_params(declared: set[str], changes: list[Change], batch: bool) -> list[dict[str, Any]]:
    """Parameter sets for the runs to start: one per change (``change``, ``record``), or one with ``changes``.

    Only names the notebook declares are passed, so a notebook that does not
    care about the record still runs.
    """
    if batch:
        sets = [{"changes": [c.to_param() for c in changes]}] if changes else []
    else:
        sets = [c.to_param() for c in changes]
    return [{k: v for k, v in values.items() if k in declared} for values in sets]
