"""Polling data-change triggers: read each source every ``every`` seconds of the server's clock and run on changes.

The first poll of a trigger only records the baseline. Afterwards the runs
for a poll's changes and the new snapshot are written in one transaction, so
a change is acted on exactly once even across a crash, and a change made
while the server was down is seen by the first poll after it starts. A
paused workflow is not polled: its changes are seen when it is resumed.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any

from ..durations import compact_duration
from ..model.params import ParameterError, coerce_params, typed
from ..service.runs import RunsFolderError
from ..triggers.base import SourceError
from ..triggers.changes import Change, change_params, diff
from .catalog import ServedWorkflow, Trigger
from .due import DueTimes, Slot

if TYPE_CHECKING:
    from .plane import ControlPlane

log = logging.getLogger("jetnb.serve")


class Poller:
    """Data-change triggers in a heap by their next poll (``due.py``): a look reads only the sources that are due."""

    def __init__(self, plane: ControlPlane):
        self.plane = plane
        self.due = DueTimes("poll")
        self._failing: dict[Slot, str] = {}  # the last error of a source, so it is logged once

    def poll_due(self, now: float) -> None:
        """Poll every data-change trigger whose time has come (each is due at once when it is first served)."""
        served = self.plane.catalog.served
        self.due.follow(served, lambda fresh: {(s.name, t.key): now for s, t in fresh})
        self._failing = {slot: error for slot, error in self._failing.items() if slot[0] in served}
        for slot in self.due.pop_due(now):
            served = self.due.workflow(slot)
            trigger = next((t for t in served.of_family("poll") if t.key == slot[1]), None) if served else None
            if served is None or trigger is None:
                self._failing.pop(slot, None)
                continue
            self.due.set(slot, now + trigger.kind.every(trigger.spec))
            try:
                self._poll(served, trigger)
            except Exception:
                log.exception("%s %s: poll failed", served.name, trigger.key)

    def next_due(self) -> float | None:
        return self.due.next_due()

    def _poll(self, served: ServedWorkflow, trigger: Trigger) -> None:
        plane, store = self.plane, self.plane.store()
        row = store.trigger(served.name, trigger.key)
        if row is None or plane.is_paused(served.name):
            return
        kind = trigger.kind
        label = f"{served.name} {kind.name} on {kind.describe_source(trigger.spec)}"
        slot = (served.name, trigger.key)
        try:
            records = kind.read(trigger.spec, served.path.parent)
            changes, upserts, deleted = diff(store.snapshot(served.name, trigger.key), records, kind.keys(trigger.spec))
        except SourceError as exc:
            every = compact_duration(kind.every(trigger.spec))
            self._report_once(slot, label, f"{exc} (retrying every {every}; logged again only if the error changes)",
                              served.name, trigger.key)
            return
        if self._failing.pop(slot, None):
            plane.note("source_ok", f"{label}: readable again", workflow=served.name, trigger=trigger.key)
        if row["baseline_at"] is None:
            with store.transaction():
                store.update_snapshot(served.name, trigger.key, upserts, deleted)
                store.mark_baseline(served.name, trigger.key, plane.clock.now())
            plane.note("baseline", f"{label}: first look, {len(records)} record(s) recorded; changes from now on "
                       "start runs", workflow=served.name, trigger=trigger.key)
            return
        if not changes:
            return
        runs = self._validated_runs(served, trigger, [c for c in changes if c.kind in kind.wanted(trigger.spec)], label)
        try:
            with store.transaction():
                run_ids = [plane.service.record(served.workflow, values, trigger=kind.name, detail=detail,
                                                started_by=f"trigger:{kind.name}") for values, detail in runs]
                store.update_snapshot(served.name, trigger.key, upserts, deleted)
        except RunsFolderError as exc:  # nothing recorded: the changes are seen again at the next poll
            self._report_once(slot, label, f"{exc} (the changes wait for the next poll)", served.name, trigger.key)
            return
        for run_id, (_, detail) in zip(run_ids, runs):
            plane.service.start(run_id)
            plane.note("fire", f"{label}: {_what(detail)} -> run {run_id}", workflow=served.name,
                       trigger=trigger.key, run_id=run_id)

    def _report_once(self, slot: Slot, label: str, problem: str, workflow: str, key: str) -> None:
        """A failing poll is noted when it starts failing or fails differently, not at every poll."""
        if self._failing.get(slot) != problem:
            self._failing[slot] = problem
            self.plane.note("source_error", f"{label}: {problem}", workflow=workflow, level=logging.WARNING,
                            trigger=key)

    def _validated_runs(self, served: ServedWorkflow, trigger: Trigger, changes: list[Change],
                        label: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(values, detail) per run to start; a change whose values the notebook refuses is logged and dropped."""
        declared = {p.name for p in served.workflow.parameters}
        batch = trigger.kind.batch(trigger.spec)
        batches = [changes] if batch else [[c] for c in changes]
        runs = []
        for batch, values in zip(batches, change_params(declared, changes, batch)):
            detail = {"trigger": trigger.key, "changes": [{"change": c.kind, "key": json.loads(c.key)} for c in batch]}
            try:
                runs.append((coerce_params(served.workflow.parameters, typed({**trigger.kind.params(trigger.spec), **values})),
                             detail))
            except ParameterError as exc:
                self.plane.note("skip", f"{label}: {_what(detail)} not run: {exc}", workflow=served.name,
                                level=logging.ERROR, trigger=trigger.key)
        return runs


def _what(detail: dict[str, Any]) -> str:
    return ", ".join(f"{c['change']} {c['key']}" for c in detail["changes"])
