"""How a served workflow is described to people and clients: the API's JSON and the web pages share it."""

from __future__ import annotations

from typing import Any

from ..control.plane import ControlPlane
from ..store import public_run
from ..store.rows import iso
from ..control.overview import trigger_view
from ..control.catalog import ServedWorkflow


def workflow_view(plane: ControlPlane, served: ServedWorkflow, *, full: bool = False) -> dict[str, Any]:
    store = plane.store()
    state = store.workflow_state(served.name)
    latest = store.latest_run(served.name)
    last = public_run(latest) if latest else None
    now = plane.clock.now()
    view = {
        "name": served.name, "path": str(served.path), "description": served.description,
        "triggers": [trigger_view(store, t, now) for t in store.triggers(served.name)],
        "paused": state["paused"], "paused_at": iso(state["paused_at"]),
        "pause_reason": state["pause_reason"], "consecutive_failures": state["consecutive_failures"],
        "concurrency": served.config["concurrency"],
        "last_run": last and {k: last[k] for k in ("id", "status", "trigger", "created_at", "finished_at")},
    }
    if full:
        view["parameters"] = [p.to_dict() for p in served.workflow.parameters]
        view["config"] = {k: v for k, v in served.config.items() if k != "triggers"}
    return view

