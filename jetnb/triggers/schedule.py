"""The ``schedule`` trigger: cron in an IANA time zone.

Its timing answers the two questions of every time trigger, in seconds
since the epoch: the next tick after a moment, and the newest ticks in a
window (for catch-up).

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

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from ..fields import Field, text, timezone_name
from .base import PARAMS, TimeKind

_MAX_STEPS = 100_000  # bound on croniter steps for one question; a year of minutely ticks is ~525k


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
        return _next_after(self, moment)

    def _next_after(self, moment: float) -> float | None:
        ticks = _parsed(self.expression, self._wall(moment))
        for _ in range(_MAX_STEPS):
            instant = self.instant(ticks.get_next(datetime))
            if instant > moment:
                return instant
        return None

    def newest(self, after: float, until: float, limit: int) -> list[float]:
        from datetime import timedelta

        ticks = _parsed(self.expression, self._wall(until) + timedelta(seconds=1))
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


@lru_cache(maxsize=16384)
def _next_after(timing: CronTiming, moment: float) -> float | None:
    """Memoised: a server registering 10,000 workflows asks the same question for many of them."""
    return timing._next_after(moment)


_parsers = threading.local()


def _parsed(expression: str, start: datetime) -> Any:
    """A croniter at ``start``; parsing the expression is most of croniter's cost, so each thread keeps its parsers."""
    from croniter import croniter

    cache: dict[str, Any] = _parsers.__dict__.setdefault("by_expression", {})
    ticks = cache.get(expression)
    if ticks is None:
        ticks = cache[expression] = croniter(expression, start)
    else:
        ticks.set_current(start, force=True)
    return ticks


ALIASES = ("@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly")


def cron_expression(value: Any) -> str:
    """Five fields (or an alias such as ``@daily``) that fire at least once: six- and seven-field forms are refused."""
    expression = text(value).strip()
    if expression.lower() not in ALIASES and len(expression.split()) != 5:
        raise ValueError(f"invalid cron expression {expression!r}: expected 5 fields (minute hour day month "
                         f"weekday) or one of {', '.join(ALIASES)}")
    problem = _cron_problem(expression)
    if problem:
        raise ValueError(problem)
    return expression


@lru_cache(maxsize=1024)
def _cron_problem(expression: str) -> str | None:
    """croniter's verdict on an expression (about a millisecond); many notebooks share a few expressions, and a
    server starting on thousands of them asks once per expression."""
    from croniter import CroniterBadDateError, croniter

    if not croniter.is_valid(expression):
        return f"invalid cron expression {expression!r}"
    try:
        croniter(expression, datetime(2000, 1, 1)).get_next(datetime)
    except CroniterBadDateError:
        return f"cron expression {expression!r} never fires (no such date)"
    return None


class ScheduleKind(TimeKind):
    schema = {
        "cron": Field(cron_expression, required=True, help="cron expression, 5 fields"),
        "timezone": Field(timezone_name, default="UTC", help="IANA time zone the cron is read in"),
        "params": PARAMS,
    }

    def key(self, spec: dict[str, Any]) -> str:
        return f"schedule:{spec['cron']}@{spec.get('timezone') or 'UTC'}"

    def label(self, spec: dict[str, Any]) -> str:
        return f"schedule: {spec.get('cron')} ({spec.get('timezone') or 'UTC'})"

    def timing(self, spec: dict[str, Any]) -> CronTiming:
        return CronTiming(spec["cron"], spec.get("timezone") or "UTC")
