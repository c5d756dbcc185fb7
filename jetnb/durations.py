"""Durations as people write them in headers and YAML: ``90``, ``2.5``, ``30s``, ``15m``, ``1h30m``, ``2d``."""

from __future__ import annotations

import math
import re

from .quoting import shown

_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
MAX_DAYS = 366
MAX_SECONDS = MAX_DAYS * 86400  # longer than any timer jetnb arms; beyond it a value is a typo, not a plan


def parse_duration(value: object) -> float:
    """Return seconds; a bare number is seconds. Raises ValueError naming the bad text.

    NaN, infinities and anything over ``MAX_DAYS`` days are refused here, so
    every header option and YAML key that takes a duration refuses them.
    """
    if isinstance(value, bool):
        raise ValueError(f"not a duration: {value!r}")
    seconds = _number(value) if isinstance(value, (int, float)) else _text_seconds(value)
    if not math.isfinite(seconds):
        raise ValueError(f"a duration must be a finite number, got {shown(value)}")
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {shown(value)}")
    if seconds > MAX_SECONDS:
        raise ValueError(f"a duration cannot be longer than {MAX_DAYS} days: {shown(value)}")
    return seconds


def _number(value: int | float) -> float:
    try:
        return float(value)
    except OverflowError:  # an int too large for a float
        return math.inf


def _text_seconds(value: object) -> float:
    text = str(value).strip().lower().replace(" ", "")
    try:
        return float(text)
    except ValueError:
        parts = _PART.findall(text)
        if not parts or "".join(n + u for n, u in parts) != text:
            raise ValueError(f"not a duration: {shown(value)} (use seconds or e.g. 30s, 15m, 1h30m, 2d)") from None
        return sum(float(n) * _UNIT_SECONDS[u] for n, u in parts)


def format_duration(seconds: float | None) -> str:
    """Compact human form used by the CLI and status lines."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60:
        return f"{seconds:.2f}s"
    minutes, secs = divmod(int(round(seconds)), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def compact_duration(seconds: float) -> str:
    """The form a person writes in YAML, for describing triggers: ``250ms``, ``30s``, ``15m``, ``1h30m``, ``2d``."""
    if seconds < 1:
        return f"{seconds * 1000:g}ms"
    parts, rest = [], seconds
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{int(count)}{unit}")
    if rest:
        parts.append(f"{rest:g}s")
    return "".join(parts)
