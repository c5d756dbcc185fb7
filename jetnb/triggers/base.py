"""What a trigger kind is: its YAML schema, the key that identifies one across restarts, a label, and how it fires.

A kind belongs to one of three families, and the control plane drives each
family the same way whatever the kind:

- ``TimeKind``: ticks in time (``timing``); the scheduler fires due ticks
  with the workflow's catch-up and overlap policies;
- ``PollKind``: a source of records read every ``every`` seconds
  (``read``); the poller compares them by key with the last snapshot and
  starts a run per change (or one per poll with ``batch``);
- ``PushKind``: something outside delivers (``POST /hooks/<route>``).

A new kind is one module with one of these subclasses and one entry point
in the ``jetnb.triggers`` group (see docs/architecture.md).
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, ClassVar, Protocol

from ..fields import Field, Schema, boolean, duration, mapping, names


class Timing(Protocol):
    """When a time trigger ticks, in seconds since the epoch."""

    def next_after(self, moment: float) -> float | None:
        """The first tick strictly after ``moment``; None when there is none (a one-time trigger that has passed)."""
        ...

    def newest(self, after: float, until: float, limit: int) -> list[float]:
        """Up to ``limit`` of the newest ticks in ``(after, until]``, oldest first."""
        ...

    def describe(self) -> str:
        ...


class SourceError(Exception):
    """A poll source could not be read or did not hold a list of records with the key columns."""


PARAMS = Field(mapping, default={}, help="parameters for each run")


class TriggerKind:
    """The base of every kind; ``name`` is set by the registry from the entry point's name."""

    name: str = ""
    family: ClassVar[str] = ""
    schema: ClassVar[Schema] = {}
    automatic: ClassVar[bool] = True  # paused workflows stop it

    def check(self, spec: dict[str, Any], where: str, problems: list[str]) -> None:
        """Checks that involve several keys; ``spec`` has passed the schema."""

    def parameter_problems(self, spec: dict[str, Any], declared: dict[str, str]) -> list[str]:
        """Keys that name parameters the notebook must declare (``declared``: name -> base type), each problem
        with its key's path under the trigger."""
        return []

    def key(self, spec: dict[str, Any]) -> str:
        """What identifies a trigger across restarts and edits: its kind and what it watches, not its params."""
        watched = {k: v for k, v in spec.items() if k != "params"}
        digest = hashlib.sha256(json.dumps(watched, sort_keys=True, default=str).encode()).hexdigest()[:12]
        return f"{self.name}:{digest}"

    def label(self, spec: dict[str, Any]) -> str:
        """One line for ``jetnb graph``, the web pages and ``jetnb schedules``."""
        return self.name

    def params(self, spec: dict[str, Any]) -> dict[str, Any]:
        return dict(spec.get("params") or {})


class TimeKind(TriggerKind, ABC):
    family = "time"

    @abstractmethod
    def timing(self, spec: dict[str, Any]) -> Timing:
        """When this trigger ticks."""


CHANGES = ("created", "updated", "deleted")


def change_kinds(value: Any) -> list[str]:
    kinds = value if isinstance(value, list) else [value]
    for kind in kinds:
        if kind not in CHANGES:
            raise ValueError(f"expected created, updated and/or deleted, got {kind!r}")
    return kinds


POLL_SCHEMA: Schema = {
    "key": Field(names, default=["id"], help="column(s) identifying a record"),
    "every": Field(duration, default=60.0, help="how often the source is read"),
    "on": Field(change_kinds, default=list(CHANGES), help="which changes start runs"),
    "batch": Field(boolean, default=False, help="one run per poll with all changes"),
    "params": PARAMS,
}


class PollKind(TriggerKind, ABC):
    """Records read on a period; subclasses add their source keys to ``POLL_SCHEMA`` and implement ``read``."""

    family = "poll"

    @abstractmethod
    def read(self, spec: dict[str, Any], folder: Path) -> list[dict[str, Any]]:
        """The source's records now; relative paths mean the notebook's ``folder``. Raises SourceError."""

    def every(self, spec: dict[str, Any]) -> float:
        return float(spec.get("every") or 60.0)

    def keys(self, spec: dict[str, Any]) -> list[str]:
        return list(spec.get("key") or ["id"])

    def wanted(self, spec: dict[str, Any]) -> list[str]:
        return list(spec.get("on") or CHANGES)

    def batch(self, spec: dict[str, Any]) -> bool:
        return bool(spec.get("batch"))

    def describe_source(self, spec: dict[str, Any]) -> str:
        return self.label(spec)


class PushKind(TriggerKind):
    """Deliveries from outside, served at ``POST /hooks/<route>``."""

    family = "push"

    def route(self, spec: dict[str, Any]) -> str:
        return str(spec["name"])
