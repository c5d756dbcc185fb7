"""A step's declared actions (``%%step fetch --on-error-action page_ops``): ``actions:`` blocks of ``%%workflow``
called in the kernel when the step fails or succeeds.

Each call is an ``ActionEvent`` of the step (the engine records it as an
action row under the step) and a record in the step's ``handlers`` list. A
failing action is recorded and never changes the step's outcome, as a
failing handler does. Credentials come from secrets by name, read from the
kernel's environment (``environment_secret``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from ..actions.declared import call_declared, environment_secret
from ..model.reactions import named_calls
from . import context
from .outcomes import ErrorInfo, json_safe


class StepParams(Mapping[str, Any]):
    """``{params.NAME}`` in a step's action: the value the run was given, else the notebook's variable NAME (the
    parameters cell's default, unless a step rebound it), as JSON."""

    def __init__(self, given: Mapping[str, Any], namespace: Mapping[str, Any]):
        self.given = given
        self.namespace = namespace

    def __getitem__(self, name: str) -> Any:
        if name in self.given:
            return self.given[name]
        return json_safe(self.namespace[name])

    def __iter__(self) -> Iterator[str]:
        return iter({**self.namespace, **self.given})

    def __len__(self) -> int:
        return len({**self.namespace, **self.given})


def run_step_actions(shell: Any, names: list[str], on: str, *, step: str,
                     error: ErrorInfo | None) -> list[dict[str, Any]]:
    """Call each named action for the step's outcome (``on``: ``error`` or ``success``); one record per action."""
    ctx = context.current()
    blocks = named_calls(ctx.config)
    fields = {"workflow": ctx.workflow, "run_id": ctx.run_id, "status": "failed" if error else "succeeded",
              "started_by": ctx.context.started_by, "trigger": ctx.context.trigger, "step": step,
              "error": error.message if error else None, "error_type": error.type if error else None,
              "params": StepParams(ctx.context.params, shell.user_ns)}
    records = []
    for name in names:
        record: dict[str, Any] = {"handler": f"action {name}", "on": on, "status": "succeeded"}
        started = time.perf_counter()
        try:
            if name not in blocks:
                raise LookupError(f"no action {name!r} under actions: in %%workflow (run that cell first?)")
            call_declared(blocks[name], fields, environment_secret)
        except Exception as exc:  # recorded next to the step, never raised over its outcome
            record.update(status="failed", error={"type": type(exc).__name__, "message": str(exc)})
        record["duration"] = round(time.perf_counter() - started, 6)
        records.append(record)
    return records
