"""How a served workflow is described to people and clients: the API's JSON and the web pages share it."""

from __future__ import annotations

from typing import Any

from ..control.plane import ControlPlane
from ..store import public_run
from ..store.rows import iso
from ..control.overview import trigger_view
from ..control.catalog import ServedWorkflow
from ..model.workflow import Workflow


def workflow_view(plane: ControlPlane, served: ServedWorkflow, *, full: bool = False) -> dict[str, Any]:
    store = plane.store()
    state = store.workflow_state(served.name)
    latest = store.latest_run(served.name)
    last = public_run(latest) if latest else None
    now = plane.clock.now()
    view = {
        "name": served.name, "path": str(served.path), "description": served.workflow.description,
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


def field_problems(problems: list[str], workflow: Workflow) -> dict[str, str]:
    """Each parameter's own problem, for forms that show it next to the field."""
    found = {}
    for problem in problems:
        for parameter in workflow.parameters:
            if f"parameter {parameter.name!r}" in problem:
                found[parameter.name] = problem.split(": ", 1)[-1]
    return found
