"""Data-change triggers: read a source's records, compare them by key with the last snapshot, say what changed.

Sources: a SQL query on a SQLite file (opened read-only), a CSV or JSON file
(a list of records), an HTTP(S) endpoint returning a JSON list. Relative
paths are read from the notebook's folder, as the kernel would. The caller
keeps the snapshot (``store/snapshots.py``) and decides what to run.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HTTP_TIMEOUT = 10.0
CHANGE_PARAMS = ("change", "record", "changes")


class SourceError(Exception):
    """The source could not be read or did not hold a list of records with the key columns."""


@dataclass(frozen=True)
class Change:
    kind: str  # created | updated | deleted
    key: str
    record: dict[str, Any]  # the new version; for a deletion, the last one seen

    def to_param(self) -> dict[str, Any]:
        return {"change": self.kind, "record": self.record}


Snapshot = dict[str, tuple[str, dict[str, Any]]]  # record key -> (hash, record)


def describe_source(source: dict[str, Any]) -> str:
    if source.get("sqlite"):
        return f"sqlite {source['sqlite']}"
    return f"file {source['file']}" if source.get("file") else f"url {source['url']}"


def read_records(source: dict[str, Any], folder: Path) -> list[dict[str, Any]]:
    """The source's records now; SourceError says what went wrong (the caller names the source)."""
    try:
        if source.get("sqlite"):
            return _sqlite(folder / source["sqlite"], source["query"])
        if source.get("file"):
            return _file(folder / source["file"])
        return _http(source["url"], source.get("headers") or {})
    except SourceError:
        raise
    except (OSError, sqlite3.Error, ValueError, UnicodeDecodeError) as exc:
        raise SourceError(str(exc)) from None


def _sqlite(path: Path, query: str) -> list[dict[str, Any]]:
    if not path.exists():
        raise SourceError(f"no such file: {path}")
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    try:
        conn.row_factory = sqlite3.Row
        return [dict(row) for row in conn.execute(query)]
    finally:
        conn.close()


def _file(path: Path) -> list[dict[str, Any]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() == ".csv":
        return list(csv.DictReader(text.splitlines()))
    return _records(json.loads(text))


def _http(url: str, headers: dict[str, Any]) -> list[dict[str, Any]]:
    import requests

    try:
        response = requests.get(url, headers={k: str(v) for k, v in headers.items()}, timeout=HTTP_TIMEOUT)
        response.raise_for_status()
        return _records(response.json())
    except requests.RequestException as exc:
        raise SourceError(str(exc)) from None


def _records(value: Any) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise SourceError("expected a JSON list of objects")
    return value


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
