"""The ``interval`` trigger: ticks at whole multiples of ``every`` since the Unix epoch, in UTC."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..durations import compact_duration
from ..fields import Field, duration
from .base import PARAMS, TimeKind


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


class IntervalKind(TimeKind):
    schema = {
        "every": Field(duration, required=True, help="e.g. 30s, 15m, 1h"),
        "params": PARAMS,
    }

    def key(self, spec: dict[str, Any]) -> str:
        return f"interval:{float(spec['every']):g}s"

    def label(self, spec: dict[str, Any]) -> str:
        return f"every {compact_duration(float(spec['every']))}"

    def timing(self, spec: dict[str, Any]) -> IntervalTiming:
        return IntervalTiming(float(spec["every"]))
