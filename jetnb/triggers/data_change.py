"""The ``data_change`` trigger: a source's records read every ``every``; each created, updated or deleted record
starts a run.

Sources: a SQL query on a SQLite file (opened read-only), a CSV or JSON file
(a list of records), an HTTP(S) endpoint returning a JSON list. Relative
paths are read from the notebook's folder, as the kernel would.
"""

from __future__ import annotations

import csv
import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

from ..fields import Field, Schema, mapping, text, validate
from .base import POLL_SCHEMA, PollKind, SourceError

HTTP_TIMEOUT = 10.0

SOURCE: Schema = {
    "sqlite": Field(text, help="path of a SQLite file (with `query`)"),
    "query": Field(text, help="SQL query whose rows are watched"),
    "file": Field(text, help="path of a CSV or JSON file (a list of records)"),
    "url": Field(text, help="HTTP(S) URL returning a JSON list of records"),
    "headers": Field(mapping, default={}, help="extra HTTP headers for `url`"),
}


class DataChangeKind(PollKind):
    schema = {"source": Field(mapping, required=True, help="sqlite+query, file or url"), **POLL_SCHEMA}

    def check(self, spec: dict[str, Any], where: str, problems: list[str]) -> None:
        if "source" not in spec:
            return
        source = validate(spec["source"], SOURCE, f"{where}.source", problems)
        kinds = [k for k in ("sqlite", "file", "url") if source.get(k)]
        if len(kinds) != 1:
            problems.append(f"{where}.source: give exactly one of sqlite (with query), file or url")
        elif kinds == ["sqlite"] and not source.get("query"):
            problems.append(f"{where}.source.query: required with sqlite")
        spec["source"] = source

    def key(self, spec: dict[str, Any]) -> str:
        watched = json.dumps({"source": spec.get("source"), "key": spec.get("key")}, sort_keys=True, default=str)
        return f"data_change:{hashlib.sha256(watched.encode()).hexdigest()[:12]}"

    def label(self, spec: dict[str, Any]) -> str:
        source = spec.get("source") or {}
        return f"data change in {source.get('sqlite') or source.get('file') or source.get('url')}"

    def describe_source(self, spec: dict[str, Any]) -> str:
        return describe_source(spec["source"])

    def read(self, spec: dict[str, Any], folder: Path) -> list[dict[str, Any]]:
        return read_records(spec["source"], folder)


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
