"""The one place a run's events become its outcome: result, outputs, the failing step, handler requests, the
approval it waits for.

The engine only forwards events here (after writing each into its cell);
the builder keeps what the run log's metadata and the run service need and
passes every event on to the service's observer, which records steps live.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..protocol import ApprovalRequest, Event, HandlerRequest, OutputEvent, RunOutcome, RunStatus, StepEvent
from . import Observer


class OutcomeBuilder:
    def __init__(self, observer: Observer):
        self.observer = observer
        self.result: Any = None
        self.outputs: dict[str, Any] = {}
        self.handler_requests: list[HandlerRequest] = []
        self.approval: ApprovalRequest | None = None
        self.failed_step: dict[str, Any] | None = None
        self.nb: Any = None  # the live run log, set by the engine once papermill has prepared it

    def event(self, event: Event) -> None:
        if isinstance(event, StepEvent):
            self._step(event)
        elif isinstance(event, OutputEvent):
            self.outputs.update(event.values)
        elif isinstance(event, HandlerRequest):
            self.handler_requests.append(event)
        elif isinstance(event, ApprovalRequest):
            self.approval = event
        self.observer.event(event)

    def _step(self, event: StepEvent) -> None:
        if event.kind == "result" and event.status == "succeeded":
            self.result = event.value
        if event.status == "failed" and event.kind in ("step", "result") and not event.continued:
            self.failed_step = {**(event.error or {}), "step": event.step, "cell": event.cell}

    def metadata(self) -> dict[str, Any]:
        """What the run log's ``metadata.jetnb`` says about the run so far."""
        return {"result": self.result, "outputs": self.outputs, "failed_step": self.failed_step,
                "handler_requests": [asdict(h) for h in self.handler_requests],
                "waiting_for": asdict(self.approval) if self.approval else None}

    def finish(self, status: RunStatus, error: dict[str, Any] | None) -> RunOutcome:
        """How the execution ended, with the failing step's own account of its error where there is one."""
        if error is not None and self.failed_step and status == RunStatus.FAILED:
            error = {**error, **self.failed_step}
        if status == RunStatus.SUCCEEDED and self.approval is not None:
            status = RunStatus.WAITING
        return RunOutcome(status, error, self.result, dict(self.outputs), list(self.handler_requests), self.approval)
