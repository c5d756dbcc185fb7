"""The server's background threads: the scheduler (folder rescans, time triggers, resuming decided approvals), the
data-change poller and retention.

The scheduler and the poller sleep until their next due time, looking at the clock at least every
``clock.tick`` real seconds (1 s, or 0.05 s with a fake clock); a look
costs what is due, not what is served (heaps of due times, file-system
events for the folder). The poller has its own thread because a slow source
(an HTTP endpoint timing out) must not delay a schedule; retention runs
hourly in a third.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable

from ..clock import Clock, SystemClock
from .polling import Poller
from .timers import TimeTriggers

if TYPE_CHECKING:
    from .plane import ControlPlane

log = logging.getLogger("jetnb.serve")
PRUNE_EVERY = 3600.0  # seconds of the server's clock between two applications of retention
MIN_PAUSE = 0.01  # real seconds: a look never follows the previous one closer than this


def pause(clock: Clock, now: float, due: float | None) -> float:
    """Real seconds to sleep: until the next due time, but never past the clock's tick (1 s, or 0.05 s with a fake
    clock), so a clock set by hand, a new notebook or a decided approval is seen soon."""
    if due is None or not isinstance(clock, SystemClock):  # a fake clock's seconds are not real ones
        return clock.tick
    return min(clock.tick, max(due - now, MIN_PAUSE))


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
        clock, timers = self.plane.clock, TimeTriggers(self.plane)
        since, walked = clock.now(), time.monotonic()
        while not self._stop.is_set():
            if time.monotonic() - walked >= self.plane.watcher.rescan_every:
                walked = time.monotonic()
                self.plane.watcher.everything()  # the fallback: events can be missed (a full inotify queue)
            self._guarded("rescanning the folder", self.plane.sync)
            now = clock.now()
            if self._guarded("firing due triggers", timers.fire_due, now, since):
                since = max(since, now)
            self._guarded("resuming decided runs", self.plane.service.resume_decided)
            pending = self.plane.catalog.pending  # notebooks past the last look's parse batch: the next one at once
            self._stop.wait(MIN_PAUSE if pending else pause(clock, now, timers.next_due()))

    def _poll(self) -> None:
        clock, poller = self.plane.clock, Poller(self.plane)
        while not self._stop.is_set():
            now = clock.now()
            self._guarded("polling sources", poller.poll_due, now)
            self._stop.wait(pause(clock, now, poller.next_due()))

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
