"""YAML schemas as tables of ``Field``s: the ``%%workflow`` keys and each trigger kind's keys share these checks.

One table per schema means the validator, the docs test and the error
messages come from one place; every problem names its path
(``triggers[1].schedule.cron``).
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable

from .durations import parse_duration
from .quoting import shown

Check = Callable[[Any], Any]
SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
MAX_NAME = 100


@dataclass(frozen=True)
class Field:
    check: Check
    required: bool = False
    default: Any = None
    help: str = ""


Schema = dict[str, Field]


def text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
    return value


def slug(value: Any) -> str:
    """A name people type in URLs and commands: no spaces, no newline, bounded."""
    if not isinstance(value, str) or not SLUG_RE.fullmatch(value) or len(value) > MAX_NAME:
        raise ValueError(f"{shown(value)} is not a valid name (up to {MAX_NAME} letters, digits, '.', '_' and '-'; "
                         "no spaces)")
    return value


def whole(minimum: int, maximum: int | None = None) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {shown(value)}")
        if value < minimum:
            raise ValueError(f"expected a number >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ValueError(f"expected a number <= {maximum}, got {value}")
        return value

    return check


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {shown(value)}")
    return value


def duration(value: Any) -> float:
    """A positive, finite duration (``parse_duration`` refuses NaN and infinities)."""
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError("must be longer than 0s")
    return seconds


def mapping(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping, got {type(value).__name__}")
    return value


def timezone_name(value: Any) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    name = text(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a name too long for a file, or a folder
        raise ValueError(f"unknown time zone {shown(name)} (use an IANA name such as Europe/Paris)") from None
    return name


def instant(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raw = text(value)
    try:
        datetime.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"not an ISO-8601 date-time: {shown(raw)}") from None
    return raw


def size(value: Any) -> int:
    """Bytes, as a number or with a unit: ``1048576``, ``1MiB``; at least one byte."""
    if isinstance(value, bool):
        raise ValueError(f"expected a size such as 1048576 or 1MiB, got {shown(value)}")
    if isinstance(value, int):
        number = value
    else:
        match = re.fullmatch(r"\s*(\d{1,12})\s*(B|KiB|MiB|GiB|KB|MB|GB)?\s*", str(value))
        if not match:
            raise ValueError(f"expected a size such as 1048576 or 1MiB, got {shown(value)}")
        unit = {"B": 1, None: 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "KiB": 1024, "MiB": 1024**2,
                "GiB": 1024**3}[match.group(2)]
        number = int(match.group(1)) * unit
    if number < 1:
        raise ValueError(f"must be at least 1 byte, got {shown(value)}")
    return number


def names(value: Any) -> list[str]:
    """A list of names, or one comma-separated text."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise ValueError("expected a list of names")
    return value


def choice(*choices: str) -> Callable[[Any], str]:
    """A converter that accepts exactly one of ``choices`` (header values and YAML keys alike)."""

    def convert(value: Any) -> str:
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}, got {shown(value)}")
        return value

    return convert


def finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value}")
    return value


def key_label(key: Any) -> str:
    """A YAML key as a message path shows it: as written when short and printable, else quoted and clipped."""
    text = str(key) if isinstance(key, (str, int, float)) else shown(key)
    return text if len(text) <= 60 and text.isprintable() else shown(key)


def validate(data: Any, schema: Schema, path: str, problems: list[str]) -> dict[str, Any]:
    """Check a YAML mapping against ``schema``: unknown keys, bad values and missing required keys become problems."""
    if not isinstance(data, dict):
        problems.append(f"{path or 'the %%workflow cell'}: expected a mapping of keys, got {type(data).__name__}")
        return {}
    out: dict[str, Any] = {}
    failed: set[str] = set()
    for key, value in data.items():
        if key is True and "on" in schema:
            key = "on"  # YAML 1.1 reads a bare `on:` key as the boolean true
        where = f"{path}.{key_label(key)}" if path else key_label(key)
        spec = schema.get(key) if isinstance(key, str) else None
        if spec is None:
            close = difflib.get_close_matches(str(key), list(schema), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(schema) or 'none'})"
            problems.append(f"{where}: unknown key{hint}")
            continue
        try:
            out[key] = spec.check(value)
        except (ValueError, TypeError, OverflowError) as exc:
            problems.append(f"{where}: {exc}")
            failed.add(key)
    for key, spec in schema.items():
        if key in out or key in failed:
            continue
        if spec.required:
            problems.append(f"{path + '.' if path else ''}{key}: required")
        else:
            out[key] = spec.default
    return out
