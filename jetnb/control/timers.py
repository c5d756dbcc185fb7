"""Firing time triggers: at each look at the clock, due ticks become runs or recorded skips, each exactly once.

A tick's fire row and its queued run are written in one transaction (see
``store/fires.py``), so a stop at any moment leaves either both or neither;
ticks whose rows are missing after a stop are due again at the next start,
where the catch-up policy (``triggers/firing.py``) decides.

The overlap policy applies when a run of the workflow is still queued or
running, whichever process started it (the store says): ``skip`` records the tick as skipped,
``queue`` queues a run that starts once no run of the workflow is running,
``allow`` queues it within the workflow's ``concurrency``. Catch-up runs of
one look are queued one after another.

Each trigger waits in a heap (``due.py``) keyed by its next tick, so a look
where nothing is due costs one comparison, however many workflows are served.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..model.params import ParameterError, typed
from ..service.runs import RunsFolderError
from ..store import AlreadyFired, Store
from ..store.rows import iso
from ..triggers.firing import plan_ticks, window
from .catalog import ServedWorkflow, Trigger
from .due import DueTimes, Slot

if TYPE_CHECKING:
    from .plane import ControlPlane

log = logging.getLogger("jetnb.serve")


class TimeTriggers:
    """The scheduler's time triggers in a heap by their next tick: a look fires what is due and touches nothing else.

    One trigger that cannot fire never stops the others; its error is logged
    when it starts or changes, not at every look, and it is tried again at
    every look until it works.
    """

    def __init__(self, plane: ControlPlane):
        self.plane = plane
        self.due = DueTimes("time")
        self._failing: dict[Slot, str] = {}

    def fire_due(self, now: float, since: float) -> None:
        """Handle every tick due by ``now``; ``since`` is when the previous look happened."""
        store = self.plane.store()
        self.due.follow(self.plane.catalog.served, lambda fresh: self._first_due(store, fresh))
        for slot in dict.fromkeys([*self.due.pop_due(now), *self._failing]):
            served = self.due.workflow(slot)
            trigger = next((t for t in served.of_family("time") if t.key == slot[1]), None) if served else None
            if served is None or trigger is None:
                self._failing.pop(slot, None)
                continue
            try:
                _fire(self.plane, store, served, trigger, now, since)
            except Exception as exc:
                said = f"{type(exc).__name__}: {exc}"
                if self._failing.get(slot) != said:
                    self._failing[slot] = said
                    log.exception("%s %s: could not fire (logged again only if the error changes)", *slot)
                continue
            self._failing.pop(slot, None)
            self.due.set(slot, trigger.kind.timing(trigger.spec).next_after(now))

    def next_due(self) -> float | None:
        """When the next tick is due (clock time), or None; a trigger that failed is tried at every look."""
        return None if self._failing else self.due.next_due()

    @staticmethod
    def _first_due(store: Store, fresh: list[tuple[ServedWorkflow, Trigger]]) -> dict[Slot, float | None]:
        """Each new trigger's first tick after the newest one handled (or its registration): one query for all."""
        if not fresh:
            return {}
        cursors = store.fire_cursors({served.name for served, _ in fresh})
        return {(served.name, trigger.key): trigger.kind.timing(trigger.spec).next_after(
                    cursors.get((served.name, trigger.key), 0.0)) for served, trigger in fresh}


def _fire(plane: ControlPlane, store: Store, served: ServedWorkflow, trigger: Trigger, now: float,
          since: float) -> None:
    row = store.trigger(served.name, trigger.key)
    if row is None:
        return
    cursor = max(row["registered_at"], store.fire_cursor(served.name, trigger.key) or 0.0)
    catchup, limit = served.config["catchup"], served.config["catchup_limit"]
    timing = trigger.kind.timing(trigger.spec)
    due = timing.newest(cursor, now, window(catchup, limit))
    if not due:
        return
    plan = plan_ticks(due, since, catchup, limit)
    label = f"{served.name} {timing.describe()}"

    def skip(tick: float, reason: str) -> None:
        try:
            store.record_fire(served.name, trigger.key, tick, "skipped", reason=reason)
        except AlreadyFired:
            return
        plane.note("skip", f"{label}: tick {iso(tick)} skipped: {reason}", workflow=served.name, trigger=trigger.key,
                   scheduled_at=iso(tick))

    if plan.skip:
        count = f"{len(plan.skip)}{' or more' if len(due) >= window(catchup, limit) else ''}"
        skip(plan.skip[-1], f"{count} tick(s) up to this one were missed while the server was down or behind "
                            f"(catchup: {catchup})")
    if not plan.fire:
        return
    if plane.is_paused(served.name):
        for tick in plan.fire:
            skip(tick, "the workflow is paused")
        return
    overlap = served.config["overlap"]
    busy = plane.service.active(served.name)
    for tick in plan.fire:
        if busy and overlap == "skip":
            skip(tick, "the previous run is still going (overlap: skip)")
            continue
        try:
            run_id = plane.launch(
                served.workflow, typed(trigger.kind.params(trigger.spec)), trigger=trigger.kind.name,
                detail={"trigger": trigger.key, "scheduled_at": iso(tick)}, exclusive=overlap != "allow",
                also=lambda s, rid, tick=tick: s.record_fire(served.name, trigger.key, tick, "fired", run_id=rid))
        except AlreadyFired:
            continue
        except ParameterError as exc:
            skip(tick, f"the trigger's params do not fit the notebook: {exc}")
            continue
        except RunsFolderError as exc:
            skip(tick, str(exc))
            continue
        plane.note("fire", f"{label}: tick {iso(tick)} -> run {run_id}", workflow=served.name, trigger=trigger.key,
                   scheduled_at=iso(tick), run_id=run_id)
