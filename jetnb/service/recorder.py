"""The run service's observer of one execution: kernel events become step rows, action rows, artifact rows, outputs
and approval requests in the store as they happen, and progress for whoever watches (the CLI's step lines)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from ..model.workflow import Workflow
from ..protocol import ActionEvent, ApprovalRequest, ArtifactEvent, Event, OutputEvent, StepEvent, StepStatus
from ..store import Store

Progress = Callable[[StepEvent, int, int], None]  # (event, step number, steps in all)


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value).timestamp() if value else None


class RunRecorder:
    """Knows the planned steps; records each as it starts and ends, and everything else the run reports."""

    def __init__(self, store: Store, run: dict[str, Any], workflow: Workflow, progress: Progress | None = None,
                 completed: dict[str, dict[str, Any]] | None = None):
        """``completed`` (resuming): step rows by name that keep their record; every other step starts pending."""
        self.store = store
        self.run = run
        self.run_id = run["id"]
        self.progress = progress
        self.outputs: dict[str, Any] = dict(run.get("outputs") or {})
        self._seq_by_cell: dict[int | None, int] = {}
        self._step_by_cell = {cell.number: cell.step_name for cell in workflow.steps}
        self.total = len(workflow.steps)
        keep = ("kind", "status", "started_at", "finished_at", "duration", "error", "detail")
        with store.transaction():  # one commit for the plan, however many steps
            store.reset_steps(self.run_id)
            for seq, cell in enumerate(workflow.steps, start=1):
                self._seq_by_cell[cell.number] = seq
                done = (completed or {}).get(cell.step_name)
                fields = {k: done[k] for k in keep} if done else {
                    "kind": "result" if cell.role == "result" else "step", "status": StepStatus.PENDING}
                store.save_step(self.run_id, seq, name=cell.step_name, cell=cell.number, **fields)

    def event(self, event: Event) -> None:
        if isinstance(event, StepEvent):
            self._step(event)
        elif isinstance(event, OutputEvent):
            self.outputs.update(event.values)
            self.store.update_run(self.run_id, outputs=self.outputs)
        elif isinstance(event, ApprovalRequest):
            self._request_approval(event)
        elif isinstance(event, ActionEvent):
            self.store.record_action(self.run_id, action=event.action, status=event.status, step=event.step,
                                     target=event.target, started_at=event.started_at, duration=event.duration,
                                     attempts=event.attempts, error=event.error, detail=event.detail)
        elif isinstance(event, ArtifactEvent):  # a plain cell's artifact belongs to the step that cell is
            self.store.record_artifact(self.run_id, name=event.name, size=event.size, mime=event.mime,
                                       sha256=event.sha256, step=event.step or self._step_by_cell.get(event.cell),
                                       description=event.description,
                                       created_at=_ts(event.created_at) or datetime.now().timestamp())

    def _step(self, event: StepEvent) -> None:
        seq = self._seq_by_cell.get(event.cell)
        if seq is None:  # a step the static reading did not foresee (e.g. the notebook changed); append it
            seq = len(self._seq_by_cell) + 1
            self._seq_by_cell[event.cell] = seq
            self.total = max(self.total, seq)
        self.store.save_step(self.run_id, seq, name=event.step, kind=event.kind, cell=event.cell, status=event.status,
                             started_at=_ts(event.started_at), finished_at=_ts(event.finished_at),
                             duration=event.duration, error=event.error, detail=event.detail())
        if self.progress:
            self.progress(event, seq, self.total)

    def _request_approval(self, event: ApprovalRequest) -> None:
        """Durably record the request before the run is reported as waiting."""
        self.store.request_approval(
            run_id=self.run_id, workflow=self.run["workflow"], step=event.step, approvers=event.approvers,
            message=event.message, details=event.details, on_timeout=event.on_timeout, allow_self=event.allow_self,
            started_by=self.run.get("started_by"), trigger=self.run.get("trigger"), timeout=event.timeout,
            groups=event.groups)
