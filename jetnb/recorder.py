"""Turns the executor's step events into step rows in the store and progress for whoever watches."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from .store import Store
from .workflow import Workflow

Progress = Callable[[dict[str, Any]], None]
DETAIL = ("reason", "attempts", "items", "progress", "handlers", "continued")


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


class RunRecorder:
    """The executor's observer for one run: knows the planned steps, records each as it starts and ends."""

    def __init__(self, store: Store, run_id: str, workflow: Workflow, progress: Progress | None = None):
        self.store = store
        self.run_id = run_id
        self.progress = progress
        self.nb: Any = None
        self.result: Any = None
        self.outputs: dict[str, Any] = {}
        self.handler_requests: list[dict[str, Any]] = []
        self._seq_by_cell: dict[int, int] = {}
        self.total = len(workflow.steps)
        for seq, cell in enumerate(workflow.steps, start=1):
            self._seq_by_cell[cell.number] = seq
            store.save_step(run_id, seq, name=cell.step_name, kind="result" if cell.role == "result" else "step",
                            cell=cell.number, status="pending")

    def event(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "output":
            self.outputs.update(event.get("values") or {})
            self.store.update_run(self.run_id, outputs=self.outputs)
        elif kind == "handler_request":
            self.handler_requests.append(event)
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

    def close_unreached(self) -> None:
        """When the run has ended: steps never started become ``not_run``, a step cut off ``interrupted``."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE steps SET status = CASE status WHEN 'pending' THEN 'not_run' ELSE 'interrupted' END "
                         "WHERE run_id = ? AND status IN ('pending', 'running')", (self.run_id,))
