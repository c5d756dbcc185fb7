"""The time jetnb acts on: the wall clock, or a file tests control.

Expiry of approvals (and, in the server, schedules) reads ``now()`` so a test
can jump hours ahead by writing ``JETNB_FAKE_CLOCK``'s file instead of
sleeping. The file holds an ISO-8601 date-time or epoch seconds.
"""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

FAKE_CLOCK_ENV = "JETNB_FAKE_CLOCK"


def now() -> float:
    """Epoch seconds."""
    path = os.environ.get(FAKE_CLOCK_ENV)
    if not path:
        return time.time()
    text = Path(path).read_text(encoding="utf-8").strip()
    try:
        return float(text)
    except ValueError:
        return datetime.fromisoformat(text).timestamp()
