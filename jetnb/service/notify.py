"""Notifications: the actions a workflow declares for a run's outcome (``on_success``, ``on_error``), for an
approval request (``notify_approvers``) and for a pause (``on_pause``), called by the run service's process.

A run-service hook: ``on_finished`` runs after the transaction that
recorded the outcome, so a notification can never change a run's status,
and a slow or failing receiver never holds a kernel. Each call is one row
in the run's ``actions`` (``step`` empty, ``detail.on`` saying why it was
sent: ``success``, ``error``, ``approval``, ``pause``); a failure is
recorded and logged, never raised. An approval request is announced once
the run has suspended at its gate, which is when the request is durable and
the kernel released. The declarations are read from the notebook as it is
now, as ``execute`` reads it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from ..actions.declared import SecretReader, call_declared, environment_secret, qualified_name
from ..model.reactions import ActionCall, actions_of
from ..model.workflow import Workflow
from ..protocol import ActionEvent, Event, RunStatus
from ..runtime.events import collect
from ..store import Store

log = logging.getLogger("jetnb")
REASONS = {RunStatus.SUCCEEDED: ("on_success", "success"), RunStatus.FAILED: ("on_error", "error")}


class Service(Protocol):
    """What notifications need of the run service."""

    def store(self) -> Store: ...


@dataclass(frozen=True)
class Declared:
    """A workflow's ``%%workflow`` values and its parameters' defaults (``{params.NAME}`` of a value not given)."""

    config: dict[str, Any]
    defaults: dict[str, Any]


class Notifier:
    """Sends a run's declared notifications; ``public_url`` (``jetnb serve``'s address) makes ``run_url`` and
    ``approvals_url``, which are empty where no server is known (``jetnb run``)."""

    def __init__(self, public_url: str | None = None, secrets: SecretReader = environment_secret):
        self.public_url = public_url.rstrip("/") if public_url else None
        self.secrets = secrets

    def on_recorded(self, store: Store, run: dict[str, Any]) -> None:
        """Nothing to write with the outcome: notifications come after it is committed."""

    def on_finished(self, service: Service, run: dict[str, Any]) -> None:
        status = RunStatus(run["status"])
        if status not in (*REASONS, RunStatus.WAITING):
            return
        declared = self._declared(run)
        if declared is None:
            return
        store = service.store()
        if status == RunStatus.WAITING:
            calls = actions_of(declared.config.get("notify_approvers"), "notify_approvers")
            for approval in store.run_approvals(run["id"]):
                if approval["status"] == "pending" and calls:
                    fields = {**self._run_fields(run, declared), **self._approval_fields(approval)}
                    self._send(store, run["id"], calls, fields, "approval")
            return
        key, on = REASONS[status]
        self._send(store, run["id"], actions_of(declared.config.get(key), key), self._run_fields(run, declared), on)

    def paused(self, service: Service, config: dict[str, Any], facts: dict[str, Any]) -> None:
        """The workflow was paused after ``facts["last_run_id"]`` failed: its ``on_pause`` actions, as rows of that
        run. ``facts``: workflow, failures, last_error, last_run_id, reason."""
        fields = {**facts, "run_url": self._url(f"/ui/runs/{facts['last_run_id']}")}
        self._send(service.store(), facts["last_run_id"], actions_of(config.get("on_pause"), "on_pause"), fields,
                   "pause")

    # what templates are filled with ----------------------------------------------------------------

    @staticmethod
    def _declared(run: dict[str, Any]) -> Declared | None:
        workflow = Workflow.load(run["notebook"])
        if workflow.problems:
            log.warning("run %s: its notebook has problems now; its notifications are not sent (%s)", run["id"],
                        workflow.problems[0])
            return None
        return Declared(workflow.config.values, {p.name: p.default for p in workflow.parameters if p.literal_default})

    def _run_fields(self, run: dict[str, Any], declared: Declared) -> dict[str, Any]:
        error = run.get("error") or {}
        return {"workflow": run["workflow"], "run_id": run["id"], "status": str(run["status"]),
                "started_by": run.get("started_by"), "trigger": run.get("trigger"),
                "run_url": self._url(f"/ui/runs/{run['id']}"), "step": error.get("step"),
                "error": error.get("message"), "error_type": error.get("type"), "result": run.get("result"),
                "params": {**declared.defaults, **(run.get("params") or {})}}

    def _approval_fields(self, approval: dict[str, Any]) -> dict[str, Any]:
        return {"step": approval["step"], "approval_id": approval["id"], "approvers": approval["approvers"],
                "message": approval["message"], "approvals_url": self._url("/ui/approvals")}

    def _url(self, path: str) -> str:
        return f"{self.public_url}{path}" if self.public_url else ""

    # sending and recording ----------------------------------------------------------------------

    def _send(self, store: Store, run_id: str, calls: list[ActionCall], fields: dict[str, Any], on: str) -> None:
        for call in calls:
            events: list[Event] = []
            failure: Exception | None = None
            try:
                with collect(events.append):
                    call_declared(call, fields, self.secrets)
            except Exception as exc:  # recorded and logged; a notification never fails anything else
                failure = exc
                log.warning("run %s: %s action %s (%s) failed: %s: %s", run_id, on, call.name, call.where,
                            type(exc).__name__, exc)
            actions = [e for e in events if isinstance(e, ActionEvent)] or [_unreported(call, failure)]
            self._record(store, run_id, call, on, actions)

    @staticmethod
    def _record(store: Store, run_id: str, call: ActionCall, on: str, events: list[ActionEvent]) -> None:
        for event in events:
            store.record_action(run_id, action=event.action, status=event.status, step=None, target=event.target,
                                started_at=event.started_at, duration=event.duration, attempts=event.attempts,
                                error=event.error, detail={**(event.detail or {}), "on": on, "declared": call.where})


def _unreported(call: ActionCall, failure: Exception | None) -> ActionEvent:
    """The row for a plug-in action that does not record its calls (``jetnb.actions.record.recorded``)."""
    error = None if failure is None else {"type": type(failure).__name__, "message": str(failure)}
    return ActionEvent(action=qualified_name(call.name), status="failed" if failure else "succeeded", error=error)
