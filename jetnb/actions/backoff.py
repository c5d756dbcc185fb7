"""How long an action waits before trying again: exponential backoff with jitter, or what the server asked for.

Waits double from ``base`` (0.5 s, 1 s, 2 s...) and never exceed
``MAX_WAIT``; each is drawn between half and all of that, so many runs that
failed together do not come back together. A ``Retry-After`` header (a
number of seconds or an HTTP date) is honoured as a minimum, but never more
than ``MAX_RETRY_AFTER``: a server asking for an hour must not hold a step
(and its kernel) for an hour.
"""

from __future__ import annotations

import random
import time
from email.utils import parsedate_to_datetime

MAX_WAIT = 30.0
MAX_RETRY_AFTER = 60.0


def delay(attempt: int, base: float, retry_after: float | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
    ceiling = min(MAX_WAIT, base * 2 ** (attempt - 1))
    wait = random.uniform(ceiling / 2, ceiling)
    return wait if retry_after is None else max(wait, retry_after)


def retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks for, capped; None when absent or unreadable."""
    if not value or not value.strip():
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            seconds = parsedate_to_datetime(text).timestamp() - (time.time() if now is None else now)
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)
