"""The server's background threads: the scheduler (folder rescans, time triggers, resuming decided approvals), the
data-change poller and retention.

Each looks at the clock every ``clock.tick`` real seconds (1 s, or 0.05 s with
a fake clock); the poller has its own thread because a slow source (an HTTP
endpoint timing out) must not delay a schedule.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from .polling import Poller
from .timers import fire_due

if TYPE_CHECKING:
    from .plane import ControlPlane

log = logging.getLogger("jetnb.serve")
RESCAN_EVERY = 1.0  # real seconds between looks at the folder for added, changed and removed notebooks
PRUNE_EVERY = 3600.0  # seconds of the server's clock between two applications of retention


class Loops:
    def __init__(self, plane: ControlPlane):
        self.plane = plane
        self._stop = threading.Event()
        self._failing: dict[str, str] = {}  # what failed -> how, so a lasting fault is logged once
        self._threads = [threading.Thread(target=self._schedule, name="jetnb-scheduler", daemon=True),
                         threading.Thread(target=self._poll, name="jetnb-poller", daemon=True),
                         threading.Thread(target=self._prune, name="jetnb-retention", daemon=True)]

    def start(self) -> None:
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Fire nothing more; waits for a look in progress to end."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _schedule(self) -> None:
        clock = self.plane.clock
        since, scanned = clock.now(), time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - scanned >= RESCAN_EVERY:
                scanned = time.monotonic()
                self._guarded("rescanning the folder", self.plane.sync)
            now = clock.now()
            if self._guarded("firing due triggers", fire_due, self.plane, now, since):
                since = max(since, now)
            self._guarded("resuming decided runs", self.plane.service.resume_decided)
            self._stop.wait(clock.tick)

    def _poll(self) -> None:
        poller = Poller(self.plane)
        while not self._stop.is_set():
            self._guarded("polling sources", lambda: poller.poll_due(self.plane.clock.now()))
            self._stop.wait(self.plane.clock.tick)

    def _guarded(self, what: str, work: Callable[..., Any], *args: Any) -> bool:
        """Run one part of a look; an error is logged with its traceback once, then again only when it changes."""
        try:
            work(*args)
        except Exception as exc:
            said = f"{type(exc).__name__}: {exc}"
            if self._failing.get(what) != said:
                self._failing[what] = said
                log.exception("%s failed; carrying on (logged again only if the error changes)", what)
            return False
        if self._failing.pop(what, None):
            log.info("%s works again", what)
        return True

    def _prune(self) -> None:
        """Retention at start, then every ``PRUNE_EVERY`` of the clock; a thread of its own, since removing many
        run logs may take a while and must not delay a schedule."""
        clock, last = self.plane.clock, None
        while not self._stop.is_set():
            now = clock.now()
            if last is None or now - last >= PRUNE_EVERY:
                last = now
                self._guarded("retention", self.plane.prune)
            self._stop.wait(clock.tick)
