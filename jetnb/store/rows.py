"""Rows to dicts and back, shared by every table of the store: JSON columns and ISO times."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from typing import Any


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


def encode(fields: dict[str, Any], names: tuple[str, ...]) -> dict[str, Any]:
    return {k: (json.dumps(v, default=str) if k in names and v is not None else v) for k, v in fields.items()}


def decode(row: sqlite3.Row, names: tuple[str, ...]) -> dict[str, Any]:
    out = dict(row)
    for key in names:
        if out.get(key) is not None:
            out[key] = json.loads(out[key])
    return out
