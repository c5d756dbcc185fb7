"""The time jetnb acts on: the system clock, or a file a test rewrites to move time.

``JETNB_FAKE_CLOCK=/path/file`` makes every jetnb process read "now" from the
file (an ISO-8601 date-time with offset, or seconds since the epoch), so tests
can step cron and interval ticks, a restart, or anything else that waits for
a time, without waiting for it. The server's loops wake more often in that
mode, so a jump is seen within a fraction of a second of real time. Run
records keep real times.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path
from typing import Protocol

FAKE_CLOCK_ENV = "JETNB_FAKE_CLOCK"


class Clock(Protocol):
    #: how long (real seconds) a polling loop sleeps between looks at the clock
    tick: float

    def now(self) -> float:
        """Seconds since the epoch."""
        ...


class SystemClock:
    tick = 1.0

    def now(self) -> float:
        return time.time()


class FileClock:
    """Reads the time from a file at every call; keeps the last good value while the file is being replaced."""

    tick = 0.05

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._last = parse_instant(self.path.read_text(encoding="utf-8"))

    def now(self) -> float:
        try:
            self._last = parse_instant(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            pass
        return self._last


def parse_instant(text: str) -> float:
    """Seconds since the epoch from ``1764147600`` or ``2026-11-26T09:00:00+00:00`` (an offset is required)."""
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        raise ValueError(f"a fake clock time needs an offset: {text!r}")
    return moment.timestamp()


def clock_from_env() -> Clock:
    path = os.environ.get(FAKE_CLOCK_ENV)
    return FileClock(path) if path else SystemClock()


def now() -> float:
    """Seconds since the epoch, by the clock the environment chooses."""
    return clock_from_env().now()
