"""Automatic pausing: after ``pause_after_failures`` failed runs in a row, a workflow's automatic triggers stop.

A run-service hook: every run that ends in this server counts, whatever
started it: a success resets the count, a failure adds one, an interrupted
or cancelled run leaves it alone. The pause is recorded in the store and
the audit log, and the workflow's ``on_pause`` notebook is started and its
``on_pause`` actions sent (by the run service's notifier) so someone hears
of it. Unpausing resets the count.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Protocol

from ..clock import Clock
from ..model.params import ParameterError, typed
from ..model.reactions import handler_of
from ..model.workflow import Workflow
from ..render import first_line
from ..service.runs import RunService
from ..store import Store

log = logging.getLogger("jetnb.serve")
ON_PAUSE_PARAMS = ("workflow", "failures", "last_error", "last_run_id")


def describe_error(error: dict[str, Any] | None) -> str:
    """``Type: first line of the message``, as ``last_error`` and the pause reason show it."""
    if not error:
        return "no error recorded"
    message = first_line(error.get("message"))
    return f"{error.get('type')}: {message}" if message else str(error.get("type"))


class Plane(Protocol):
    """What pausing needs of the control plane (which owns this hook)."""

    clock: Clock

    def note(self, kind: str, message: str, *, workflow: str | None = None, level: int = logging.INFO,
             **detail: Any) -> None: ...

    def launch(self, workflow: Workflow, params: dict[str, Any], *, trigger: str,
               detail: dict[str, Any] | None = None) -> str: ...


class Pausing:
    """Counts outcomes with the run's final status; pauses and tells someone once the threshold is reached."""

    def __init__(self, plane: Plane):
        self.plane = plane
        self._told: dict[str, tuple[dict[str, Any], str, dict[str, Any]]] = {}  # run id -> what to start

    def on_recorded(self, store: Store, run: dict[str, Any]) -> None:
        name = run["workflow"]
        failures = store.count_outcome(name, run["status"])
        if failures is None or run["status"] != "failed":
            return
        state = store.workflow_state(name)
        threshold = state["config"].get("pause_after_failures", 5)
        if not threshold or failures < threshold or state["paused"]:
            return
        error = describe_error(run.get("error"))
        reason = f"{failures} consecutive failed runs (the last, {run['id']}: {error})"
        if not store.set_paused(name, True, reason, now=self.plane.clock.now()):
            return
        self.plane.note("pause", f"{name} paused after {reason}; unpause with `jetnb unpause {name}` or the API",
                        workflow=name, level=logging.WARNING, failures=failures, last_run_id=run["id"])
        if state["config"].get("on_pause"):
            self._told[run["id"]] = (state, state["config"]["on_pause"], {
                "workflow": name, "failures": failures, "last_error": error, "last_run_id": run["id"],
                "reason": reason})

    def on_finished(self, service: RunService, run: dict[str, Any]) -> None:
        """The pause is committed: send the ``on_pause`` actions and start its notebook (a run of its own)."""
        told = self._told.pop(run["id"], None)
        if told is None:
            return
        state, target, facts = told
        service.notifier.paused(service, state["config"], facts)
        handler = handler_of(target)
        if handler is not None:
            self._notify(state, handler, {k: v for k, v in facts.items() if k in ON_PAUSE_PARAMS})

    def _notify(self, state: dict[str, Any], target: str, offered: dict[str, Any]) -> None:
        """Run the ``on_pause`` notebook with the parameters it declares among ``ON_PAUSE_PARAMS``."""
        plane, name = self.plane, state["name"]
        if not target.endswith(".ipynb"):
            plane.note("on_pause", f"{name}: on_pause {target!r} names a %%handler; the server runs on_pause "
                       "notebooks only (give a .ipynb path)", workflow=name, level=logging.WARNING)
            return
        handler = Workflow.load(Path(state["path"]).parent / target)
        if handler.problems:
            plane.note("on_pause", f"{name}: on_pause notebook cannot run: {handler.problems[0]}", workflow=name,
                       level=logging.ERROR)
            return
        declared = {p.name for p in handler.parameters}
        try:
            run_id = plane.launch(handler, typed({k: v for k, v in offered.items() if k in declared}), trigger="on_pause",
                                  detail={"workflow": name, "failures": offered["failures"]})
        except ParameterError as exc:
            plane.note("on_pause", f"{name}: on_pause notebook {target}: {exc}", workflow=name, level=logging.ERROR)
            return
        plane.note("on_pause", f"{name}: started {handler.name} (run {run_id}) to tell someone", workflow=name,
                   run_id=run_id)


def pause_by_hand(store: Store, name: str, paused: bool, reason: str, *, now: float, by: str) -> bool:
    """Pause or unpause a registered workflow for a person (API, pages), logged and audited; whether it changed.

    Raises ``WorkflowNotFound`` for a workflow no ``jetnb serve`` has registered.
    """
    changed = store.set_paused(name, paused, reason, now=now)
    if changed:
        action = "pause" if paused else "unpause"
        log.info("%s: %s %sd by %s: %s", action, name, action, by, reason)
        store.audit(by, f"workflow.{action}", f"workflow:{name}", {"message": f"{name} {action}d: {reason}"})
    return changed
