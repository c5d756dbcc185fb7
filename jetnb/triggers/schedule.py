"""When time triggers tick: cron in an IANA time zone, fixed intervals, and one-time runs.

All three answer the same two questions, in seconds since the epoch: the
next tick after a moment, and the newest ticks in a window (for catch-up).

Cron is read in wall-clock time of its zone (croniter on naive local times)
and each local time is then placed on the real timeline:

- a local time that does not exist (the spring-forward gap) fires at the
  instant the clocks jump, as Vixie cron does; several such times collapse
  into that one tick;
- a local time that happens twice (the fall-back overlap) fires once, at its
  first occurrence.

croniter's own handling of aware datetimes fires an ambiguous time twice,
hence the wall-clock reading here (docs/decisions.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from ..durations import compact_duration

_MAX_STEPS = 100_000  # bound on croniter steps for one question; a year of minutely ticks is ~525k


class Timing(Protocol):
    def next_after(self, moment: float) -> float | None:
        """The first tick strictly after ``moment``; None when there is none (a one-time trigger that has passed)."""
        ...

    def newest(self, after: float, until: float, limit: int) -> list[float]:
        """Up to ``limit`` of the newest ticks in ``(after, until]``, oldest first."""
        ...

    def describe(self) -> str:
        ...


@dataclass(frozen=True)
class CronTiming:
    expression: str
    zone: str = "UTC"

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def describe(self) -> str:
        return f"cron {self.expression!r} ({self.zone})"

    def next_after(self, moment: float) -> float | None:
        from croniter import croniter

        ticks = croniter(self.expression, self._wall(moment))
        for _ in range(_MAX_STEPS):
            instant = self.instant(ticks.get_next(datetime))
            if instant > moment:
                return instant
        return None

    def newest(self, after: float, until: float, limit: int) -> list[float]:
        from datetime import timedelta

        from croniter import croniter

        ticks = croniter(self.expression, self._wall(until) + timedelta(seconds=1))
        found: list[float] = []
        for _ in range(_MAX_STEPS):
            if len(found) >= limit:
                break
            instant = self.instant(ticks.get_prev(datetime))
            if instant > until or (found and instant == found[-1]):
                continue
            if instant <= after:
                break
            found.append(instant)
        return found[::-1]

    def _wall(self, moment: float) -> datetime:
        return datetime.fromtimestamp(moment, self.tz).replace(tzinfo=None)

    def instant(self, wall: datetime) -> float:
        """Where a local wall-clock time falls on the real timeline (see the module docstring for gaps and overlaps)."""
        first = wall.replace(tzinfo=self.tz, fold=0)
        if first.astimezone(timezone.utc).astimezone(self.tz).replace(tzinfo=None) == wall:
            return first.timestamp()  # exists; when it exists twice, fold=0 is the first time
        second = wall.replace(tzinfo=self.tz, fold=1)
        low, high = sorted((int(first.timestamp()), int(second.timestamp())))
        after_jump = datetime.fromtimestamp(high, self.tz).utcoffset()
        while high - low > 1:  # the jump is the first second whose offset is the new one
            middle = (low + high) // 2
            if datetime.fromtimestamp(middle, self.tz).utcoffset() == after_jump:
                high = middle
            else:
                low = middle
        return float(high)


@dataclass(frozen=True)
class IntervalTiming:
    """Ticks at whole multiples of ``every`` since the epoch, so they survive restarts without stored state."""

    every: float

    def describe(self) -> str:
        return f"every {compact_duration(self.every)}"

    def _index(self, moment: float) -> int:
        return math.floor(moment / self.every + 1e-9)

    def next_after(self, moment: float) -> float | None:
        return (self._index(moment) + 1) * self.every

    def newest(self, after: float, until: float, limit: int) -> list[float]:
        last = self._index(until)
        first = max(self._index(after) + 1, last - limit + 1)
        return [k * self.every for k in range(first, last + 1)]


@dataclass(frozen=True)
class OnceTiming:
    at: float

    def describe(self) -> str:
        return f"once at {datetime.fromtimestamp(self.at, timezone.utc).isoformat()}"

    def next_after(self, moment: float) -> float | None:
        return self.at if self.at > moment else None

    def newest(self, after: float, until: float, limit: int) -> list[float]:
        return [self.at] if after < self.at <= until and limit > 0 else []


def timing_for(kind: str, spec: dict[str, Any]) -> Timing:
    """The timing of a validated ``schedule``, ``interval`` or ``once`` trigger."""
    if kind == "schedule":
        return CronTiming(spec["cron"], spec.get("timezone") or "UTC")
    if kind == "interval":
        return IntervalTiming(float(spec["every"]))
    if kind == "once":
        at = datetime.fromisoformat(str(spec["at"]))
        if at.tzinfo is None:
            at = at.replace(tzinfo=ZoneInfo(spec.get("timezone") or "UTC"))
        return OnceTiming(at.timestamp())
    raise ValueError(f"{kind!r} is not a time trigger")
