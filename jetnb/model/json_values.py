"""JSON values: what a parameter value may hold, wherever it came from.

A run's parameters are written to the store (JSON), injected into the
notebook by papermill (Python literals) and written to the run log (nbformat
JSON). A value that cannot make all three trips (a date, bytes, a set, NaN,
a non-text key, an integer SQLite cannot hold, an unpaired surrogate) is
refused before anything is recorded, naming where inside the value it is:
``items[2].when: dates are not allowed, give text``.

The walk is iterative and spends a byte budget as it goes, so a value
built from shared references (YAML aliases) or nested without end costs at
most ``MAX_VALUE_BYTES`` of work, never a recursion error.
"""

from __future__ import annotations

import datetime
import math
from typing import Any

from ..quoting import shown

MAX_VALUE_BYTES = 1024 * 1024  # one parameter value, as JSON text
MAX_DEPTH = 64  # lists and mappings inside each other
MIN_INT, MAX_INT = -(2**63), 2**63 - 1  # what SQLite and pandas hold as integers
INT_RANGE = "-2**63 and 2**63-1"
Path = tuple  # (parent path, key or index), or () for the whole value; rendered only for a message


class ValueProblem(ValueError):
    """A part of a value JSON cannot carry; ``path`` says where (``items[2].when``), empty for the whole value."""

    def __init__(self, path: str, reason: str):
        where = path if len(path) <= 80 else path[:80] + "…"
        super().__init__(f"{where}: {reason}" if path else reason)
        self.path = path
        self.reason = reason


def bounded_int(value: int, path: Path = ()) -> int:
    """An integer within ``MIN_INT``..``MAX_INT``; larger ones overflow SQLite and lose digits in JavaScript."""
    if not MIN_INT <= value <= MAX_INT:
        raise ValueProblem(render(path), f"integers must be between {INT_RANGE}, got {shown(value)}")
    return value


def json_value(value: Any) -> Any:
    """A checked copy of ``value`` (tuples become lists); raises ValueProblem at the first part JSON cannot hold."""
    walk = _Walk()
    holder: list[Any] = [None]
    walk.put(holder, 0, value, (), 0)
    while walk.stack:
        walk.fill(*walk.stack.pop())
    return holder[0]


class _Walk:
    """One pass over a value: containers still to fill, and the JSON bytes still allowed."""

    def __init__(self) -> None:
        self.stack: list[tuple[Any, Any, Path, int]] = []  # (copy to fill, source, path, depth)
        self.budget = MAX_VALUE_BYTES

    def spend(self, size: int) -> None:
        self.budget -= size
        if self.budget < 0:
            raise ValueProblem("", f"larger than {MAX_VALUE_BYTES // (1024 * 1024)} MiB as JSON")

    def put(self, parent: Any, slot: Any, item: Any, path: Path, depth: int) -> None:
        """Store the checked copy of ``item`` in ``parent[slot]``; a container is stored empty and filled later."""
        if isinstance(item, (dict, list, tuple)):
            if depth >= MAX_DEPTH:
                raise ValueProblem(render(path), f"nested deeper than {MAX_DEPTH} levels")
            self.spend(2 + len(item))
            parent[slot] = {} if isinstance(item, dict) else [None] * len(item)
            self.stack.append((parent[slot], item, path, depth + 1))
        else:
            parent[slot] = self.scalar(item, path)

    def fill(self, copy: Any, source: Any, path: Path, depth: int) -> None:
        if isinstance(source, dict):
            for key, part in source.items():
                if not isinstance(key, str):
                    raise ValueProblem(render(path), f"keys must be text, got {shown(key)} ({type(key).__name__})")
                self.spend(len(text_bytes(key, path)) + 3)
                self.put(copy, key, part, (path, key), depth)
        else:
            for index, part in enumerate(source):
                self.put(copy, index, part, (path, index), depth)

    def scalar(self, item: Any, path: Path) -> Any:
        if item is None or isinstance(item, bool):
            self.spend(5)
            return item
        if isinstance(item, int):
            number = bounded_int(int(item), path)
            self.spend(len(str(number)))
            return number
        if isinstance(item, float):
            if not math.isfinite(item):
                raise ValueProblem(render(path), f"not a finite number ({item}): NaN and infinities are not allowed")
            self.spend(len(repr(item)))
            return float(item)
        if isinstance(item, str):
            self.spend(len(text_bytes(item, path)) + 2)
            return str(item)
        raise ValueProblem(render(path), _refusal(item))


def render(path: Path) -> str:
    """``items[2].when`` from the chain of keys and indexes; identifiers are dotted, other keys quoted."""
    parts: list[str] = []
    while path:
        path, key = path
        if isinstance(key, int):
            parts.append(f"[{key}]")
        elif key.isidentifier():
            parts.append(f".{key}")
        else:
            parts.append(f"[{shown(key)}]")
    return "".join(reversed(parts)).removeprefix(".")


def text_bytes(text: str, path: Path = ()) -> bytes:
    """The UTF-8 bytes of a text; an unpaired surrogate (from ``"\\ud800"`` in JSON) cannot be written to a file."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueProblem(render(path), f"text with an unpaired surrogate ({text[exc.start]!r}) is not allowed") from None


def _refusal(item: Any) -> str:
    if isinstance(item, (datetime.date, datetime.time)):
        return "dates are not allowed, give text"
    if isinstance(item, (bytes, bytearray, memoryview)):
        return "binary values are not allowed, give text"
    if isinstance(item, (set, frozenset)):
        return "sets are not allowed, give a list"
    return (f"{type(item).__name__} values are not allowed (give text, numbers, true/false, null, lists or "
            "mappings)")
