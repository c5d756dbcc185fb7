"""How a served workflow is described to people and clients: the API's JSON and the web pages share it."""

from __future__ import annotations

from typing import Any

from ..control.plane import ControlPlane
from ..store import WorkflowNotFound, public_run
from ..store.rows import iso
from ..control.overview import trigger_view
from ..control.catalog import ServedWorkflow


def workflow_view(plane: ControlPlane, served: ServedWorkflow, *, full: bool = False) -> dict[str, Any]:
    """A workflow the store has not registered (JupyterLab shows workflows no ``jetnb serve`` has seen) is not
    paused, and its triggers are the ones its notebook declares, never registered."""
    store = plane.store()
    try:
        state = store.workflow_state(served.name)
    except WorkflowNotFound:
        state = {"paused": False, "paused_at": None, "pause_reason": None, "consecutive_failures": 0}
    latest = store.latest_run(served.name)
    last = public_run(latest) if latest else None
    now = plane.clock.now()
    registered = {t["key"]: t["registered_at"] for t in store.triggers(served.name)}
    triggers = [{"workflow": served.name, "kind": t.kind.name, "key": t.key, "spec": t.spec,
                 "registered_at": registered.get(t.key)} for t in served.triggers]
    view = {
        "name": served.name, "path": str(served.path), "description": served.description,
        "triggers": [trigger_view(store, t, now) for t in triggers],
        "paused": state["paused"], "paused_at": iso(state["paused_at"]),
        "pause_reason": state["pause_reason"], "consecutive_failures": state["consecutive_failures"],
        "concurrency": served.config["concurrency"],
        "last_run": last and {k: last[k] for k in ("id", "status", "trigger", "created_at", "finished_at")},
    }
    if full:
        view["parameters"] = [p.to_dict() for p in served.workflow.parameters]
        view["config"] = {k: v for k, v in served.config.items() if k != "triggers"}
    return view

