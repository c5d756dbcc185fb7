"""Triggers by the time they are next due, in a heap: a look at the clock touches only what is due, not what exists.

``DueTimes`` follows the catalog: when the served workflows change (a new
``Catalog.served`` mapping), the triggers of workflows that came or changed
are given a first due time (``first_due``, one call for all of them, so the
store is asked once), and those of workflows gone are forgotten. Entries
are invalidated lazily: a popped entry whose time is no longer the
trigger's current one is dropped.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Callable

from .catalog import ServedWorkflow, Trigger

Slot = tuple[str, str]  # (workflow name, trigger key)
FirstDue = Callable[[list[tuple[ServedWorkflow, Trigger]]], dict[Slot, float | None]]


class DueTimes:
    """The due times of one family's triggers (``time`` or ``poll``); used by one thread."""

    def __init__(self, family: str):
        self.family = family
        self._heap: list[tuple[float, int, Slot]] = []
        self._due: dict[Slot, float] = {}
        self._known: dict[str, ServedWorkflow] = {}
        self._order = itertools.count()

    def follow(self, served: dict[str, ServedWorkflow], first_due: FirstDue) -> None:
        """Bring the heap in line with the served workflows; costs nothing when they are the ones seen last."""
        if served is self._known:
            return
        for name, old in self._known.items():
            if served.get(name) is not old:
                for trigger in old.of_family(self.family):
                    self._due.pop((name, trigger.key), None)
        fresh = [(s, t) for name, s in served.items() if self._known.get(name) is not s for t in s.of_family(self.family)]
        self._known = served
        for slot, due in first_due(fresh).items():
            self.set(slot, due)

    def set(self, slot: Slot, due: float | None) -> None:
        """When ``slot`` is next due; None: never again (a one-time trigger that has fired)."""
        if due is None:
            self._due.pop(slot, None)
            return
        self._due[slot] = due
        heapq.heappush(self._heap, (due, next(self._order), slot))

    def pop_due(self, now: float) -> list[Slot]:
        """Every slot due by ``now``, earliest first; they leave the heap until ``set`` again."""
        found = []
        while self._heap and self._heap[0][0] <= now:
            due, _, slot = heapq.heappop(self._heap)
            if self._due.get(slot) == due:
                del self._due[slot]
                found.append(slot)
        return found

    def next_due(self) -> float | None:
        """The earliest due time, or None when nothing is scheduled."""
        while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def workflow(self, slot: Slot) -> ServedWorkflow | None:
        return self._known.get(slot[0])

    def __len__(self) -> int:
        return len(self._due)
