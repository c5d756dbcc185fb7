"""Rows to dicts and back, shared by every table of the store: JSON columns and ISO times.

Every value written goes through ``to_json`` or ``encode``, which mask the
secret values this process knows (``jetnb.secrets.masking``): the store
never keeps one, so nothing read from it (``jetnb show``, the API, pages)
can show one.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timezone
from typing import Any

from ..secrets.masking import masker


MAX_NAMED = 900  # values named in one ``IN (...)`` (SQLite's oldest limit on parameters is 999)


def iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


_ENCODER = json.JSONEncoder(default=str)  # built once: json.dumps with ``default`` builds an encoder per call


def to_json(value: Any) -> str:
    """A JSON column's text, masked."""
    return masker.mask_json(_ENCODER.encode(value))


def encode(fields: dict[str, Any], names: tuple[str, ...], text: tuple[str, ...] = ()) -> dict[str, Any]:
    """A row to write: ``names`` become JSON, ``text`` columns (free text, not identifiers) are masked."""
    return {k: (to_json(v) if k in names else masker.mask(v) if k in text and isinstance(v, str) else v)
            if v is not None else v for k, v in fields.items()}


def decode(row: sqlite3.Row, names: tuple[str, ...]) -> dict[str, Any]:
    out = dict(row)
    for key in names:
        if out.get(key) is not None:
            out[key] = json.loads(out[key])
    return out
