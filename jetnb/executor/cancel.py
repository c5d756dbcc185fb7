"""Stopping a run from outside: a cancel (someone asked) or an interrupt (the process is shutting down).

The run service sets the signal; the engine watching it interrupts the
kernel, and if the run has not ended ``grace`` seconds later, shuts the
kernel down. Either way the run log is saved with what ran.
"""

from __future__ import annotations

import threading
from enum import Enum

DEFAULT_GRACE = 10.0  # seconds between the kernel interrupt and its shutdown (docs/cli.md)


class StopKind(str, Enum):
    CANCEL = "cancel"
    INTERRUPT = "interrupt"


class CancelSignal:
    def __init__(self, grace: float = DEFAULT_GRACE):
        self.grace = grace
        self.kind: StopKind | None = None
        self.reason = ""
        self._event = threading.Event()

    def set(self, kind: StopKind, reason: str) -> None:
        """The first stop wins; a later one (an interrupt after a cancel) changes nothing."""
        if not self._event.is_set():
            self.kind, self.reason = kind, reason
            self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)
