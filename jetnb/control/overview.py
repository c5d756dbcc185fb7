"""What each registered trigger will do next and did last, read from the store: for ``jetnb schedules`` and the API."""

from __future__ import annotations

from typing import Any

from ..store import Store
from ..store.rows import iso
from ..triggers.base import TimeKind
from ..triggers.registry import UnknownTrigger, kind, of_family


def trigger_view(store: Store, trigger: dict[str, Any], now: float) -> dict[str, Any]:
    """A trigger row as people and JSON clients see it; time triggers add their next tick and their last fire."""
    view = {"kind": trigger["kind"], "key": trigger["key"], "spec": trigger["spec"],
            "registered_at": iso(trigger["registered_at"]), "label": trigger["kind"]}
    try:
        known = kind(trigger["kind"])
    except UnknownTrigger:  # registered by a plug-in that is no longer installed
        return view
    view["label"] = known.label(trigger["spec"])
    if isinstance(known, TimeKind):
        timing = known.timing(trigger["spec"])
        fires = store.fires(trigger["workflow"], trigger["key"], limit=1)
        last = fires[0] if fires else None
        view.update(
            describe=timing.describe(),
            next_fire=iso(timing.next_after(now)),
            last_fire=None if last is None else {
                "scheduled_at": iso(last["scheduled_at"]), "outcome": last["outcome"], "reason": last["reason"],
                "run_id": last["run_id"], "run_status": last["run_status"]},
        )
    return view


def time_triggers(store: Store, now: float) -> list[dict[str, Any]]:
    """Every time trigger of every served workflow, with the workflow's paused state."""
    states = {s["name"]: s for s in store.workflow_states()}
    return [{"workflow": t["workflow"], "paused": states[t["workflow"]]["paused"], **trigger_view(store, t, now)}
            for t in store.triggers(kinds=of_family("time")) if t["workflow"] in states]
