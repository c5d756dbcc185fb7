"""What later steps can see of earlier ones: the ``steps`` namespace, errors and per-item results.

jetnb binds ``steps`` in the notebook (like GitHub Actions' ``steps``
context), so a guard can say ``--when "steps.fetch.failed"`` and a step can
read ``steps["fetch"].error.message`` or ``steps.resize.values``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any


def json_safe(value: Any) -> Any:
    """The value itself when it is JSON, else its repr: events must always serialise."""
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return repr(value)
    return value


@dataclass
class ErrorInfo:
    """An error as handlers and later steps see it: ``error.message``, ``error["type"]`` and ``str(error)`` all work."""

    type: str
    message: str
    traceback: str = ""
    step: str | None = None
    run_id: str | None = None

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)

    def __str__(self) -> str:
        return f"{self.type}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ItemResult:
    index: int
    item: Any
    status: str = "not_run"  # succeeded | failed | not_run
    value: Any = None
    error: ErrorInfo | None = None
    duration: float | None = None
    attempts: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "item": json_safe(self.item), "status": self.status,
                "value": json_safe(self.value), "error": self.error.to_dict() if self.error else None,
                "duration": self.duration, "attempts": self.attempts}


@dataclass
class Decision:
    """An approval gate's outcome, as later steps read it: ``steps.refund.decision.approved``."""

    approved: bool | None
    status: str  # approved | rejected | expired
    by: str | None = None
    comment: str | None = None
    at: str | None = None
    request: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StepOutcome:
    name: str
    status: str = "pending"
    value: Any = None
    error: ErrorInfo | None = None
    items: list[ItemResult] | None = None
    attempts: list[dict[str, Any]] = field(default_factory=list)
    reason: str | None = None
    decision: Decision | None = None

    @property
    def succeeded(self) -> bool:
        return self.status == "succeeded"

    @property
    def failed(self) -> bool:
        return self.status == "failed"

    @property
    def skipped(self) -> bool:
        return self.status == "skipped"

    @property
    def rejected(self) -> bool:
        return self.status == "rejected"

    @property
    def values(self) -> list[Any]:
        """Values of the items that succeeded, in item order (iterator steps)."""
        return [i.value for i in self.items or [] if i.status == "succeeded"]


class Steps(dict):
    """``steps.NAME`` or ``steps["NAME"]`` → the StepOutcome of a step that has run in this kernel."""

    def __getattr__(self, name: str) -> StepOutcome:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(f"no step named {name!r} has run yet (steps so far: {', '.join(self) or 'none'})"
                                 ) from None
