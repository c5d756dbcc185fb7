"""Turns the executor's step events into step rows in the store and progress for whoever watches."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from ..store import Store
from ..model.workflow import Workflow

Progress = Callable[[dict[str, Any]], None]
DETAIL = ("reason", "attempts", "items", "progress", "handlers", "continued", "decision")


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


class RunRecorder:
    """The executor's observer for one run: knows the planned steps, records each as it starts and ends."""

    def __init__(self, store: Store, run: dict[str, Any], workflow: Workflow, progress: Progress | None = None,
                 completed: dict[str, dict[str, Any]] | None = None):
        """``completed`` (resuming): step rows by name that keep their record; every other step starts pending."""
        self.store = store
        self.run = run
        self.run_id = run["id"]
        self.progress = progress
        self.nb: Any = None
        self.result: Any = None
        self.outputs: dict[str, Any] = dict(run.get("outputs") or {})
        self.handler_requests: list[dict[str, Any]] = []
        self.approval: dict[str, Any] | None = None
        self._seq_by_cell: dict[int | None, int] = {}
        self.total = len(workflow.steps)
        keep = ("kind", "status", "started_at", "finished_at", "duration", "error", "detail")
        with store.transaction() as conn:
            conn.execute("DELETE FROM steps WHERE run_id = ?", (self.run_id,))
        for seq, cell in enumerate(workflow.steps, start=1):
            self._seq_by_cell[cell.number] = seq
            done = (completed or {}).get(cell.step_name)
            fields = {k: done[k] for k in keep} if done else {
                "kind": "result" if cell.role == "result" else "step", "status": "pending"}
            store.save_step(self.run_id, seq, name=cell.step_name, cell=cell.number, **fields)

    def event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "output":
            self.outputs.update(event.get("values") or {})
            self.store.update_run(self.run_id, outputs=self.outputs)
        elif kind == "handler_request":
            self.handler_requests.append(event)
        elif kind == "approval_request":
            self._request_approval(event)
        elif kind == "step":
            self._step(event)

    def _step(self, event: dict[str, Any]) -> None:
        cell = event.get("cell")
        seq = self._seq_by_cell.get(cell)
        if seq is None:  # a step the static reading did not foresee (e.g. the notebook changed); append it
            seq = len(self._seq_by_cell) + 1
            self._seq_by_cell[cell] = seq
            self.total = max(self.total, seq)
        fields = {
            "name": event.get("step"), "kind": event.get("kind", "step"), "cell": cell, "status": event["status"],
            "started_at": _ts(event.get("started_at")), "finished_at": _ts(event.get("finished_at")),
            "duration": event.get("duration"), "error": event.get("error"),
            "detail": {k: event[k] for k in DETAIL if event.get(k) is not None} or None,
        }
        self.store.save_step(self.run_id, seq, **fields)
        if event.get("kind") == "result" and event["status"] == "succeeded":
            self.result = event.get("value")
        if self.progress:
            self.progress({**event, "index": seq, "total": self.total})

    def _request_approval(self, event: dict[str, Any]) -> None:
        """Durably record the request before the run is reported as waiting."""
        self.approval = self.store.request_approval(
            run_id=self.run_id, workflow=self.run["workflow"], step=event["step"], approvers=event["approvers"],
            message=event["message"], details=event.get("details") or {}, on_timeout=event["on_timeout"],
            allow_self=event["allow_self"], started_by=self.run.get("started_by"), trigger=self.run.get("trigger"),
            timeout=event.get("timeout"))

    def close_unreached(self) -> None:
        """When the run has ended (see ``Store.close_steps``)."""
        self.store.close_steps(self.run_id)
