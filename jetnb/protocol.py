"""The typed protocol between layers: run and step statuses, kernel events, the run context, the run outcome.

Everything that crosses from the kernel (or a Dask worker) to the control
plane is an ``Event`` from this module, displayed by the kernel under
``MIME`` with a ``text/plain`` status line; everything the kernel is told
about its run is a ``RunContext``, and the secret values it needs a
``RunSecrets``, sent on their own (never in a cell, never stored). Statuses are enums whose values are the
strings stored and shown, so ``RunStatus.FAILED == "failed"``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from enum import Enum
from typing import Any, Union

MIME = "application/vnd.jetnb.event+json"


class RunStatus(str, Enum):
    """A run's life: queued → running → (waiting → queued → running)* → one final status."""

    QUEUED = "queued"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value

    @property
    def final(self) -> bool:
        return self in FINAL_STATUSES

    @property
    def active(self) -> bool:
        """Queued or running: the run holds (or waits for) a place under ``concurrency``."""
        return self in (RunStatus.QUEUED, RunStatus.RUNNING)


FINAL_STATUSES = frozenset({RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.INTERRUPTED, RunStatus.CANCELLED})
RUN_STATUSES = tuple(s.value for s in RunStatus)


class StepStatus(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    SKIPPED = "skipped"
    REJECTED = "rejected"
    NOT_RUN = "not_run"
    INTERRUPTED = "interrupted"
    CANCELLED = "cancelled"

    def __str__(self) -> str:
        return self.value


class StepKind(str, Enum):
    STEP = "step"
    RESULT = "result"
    HANDLER = "handler"  # the run-level on_error / on_success cell

    def __str__(self) -> str:
        return self.value


SYMBOLS = {"running": "▶", "succeeded": "✓", "failed": "✗", "skipped": "–", "waiting": "…", "rejected": "⊘",
           "cancelled": "⊘", "interrupted": "✗"}


def _compact(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


@dataclass
class StepEvent:
    """A step started, changed (progress, a retry) or ended; the same event updates the step's status line."""

    step: str
    status: str
    kind: str = StepKind.STEP.value
    started_at: str | None = None
    finished_at: str | None = None
    duration: float | None = None
    error: dict[str, Any] | None = None
    reason: str | None = None
    value: Any = None  # the result (kind result)
    attempts: list[dict[str, Any]] | None = None
    items: list[dict[str, Any]] | None = None
    progress: dict[str, int] | None = None
    handlers: list[dict[str, Any]] | None = None
    continued: bool | None = None
    decision: dict[str, Any] | None = None
    cell: int | None = None  # 1-based, added by the engine (papermill's injected cell not counted)

    event = "step"
    DETAIL = ("reason", "attempts", "items", "progress", "handlers", "continued", "decision")

    def detail(self) -> dict[str, Any] | None:
        """What a step row keeps beyond its status and times."""
        return _compact({k: getattr(self, k) for k in self.DETAIL}) or None

    def line(self) -> str:
        """A compact one-line summary, for outputs and terminals."""
        from .durations import format_duration

        symbol = SYMBOLS.get(self.status, "•")
        if self.status == StepStatus.RUNNING:
            return f"{symbol} step {self.step} running…"
        text = f"{symbol} step {self.step} {self.status}"
        if self.duration is not None:
            text += f" in {format_duration(self.duration)}"
        if self.reason:
            text += f" ({self.reason})"
        if self.error:
            text += f": {self.error.get('type')}: {self.error.get('message')}"
        return text


@dataclass
class OutputEvent:
    """``jetnb.output(name=value)``: named JSON values handed to whoever started the run."""

    values: dict[str, Any]
    cell: int | None = None

    event = "output"


@dataclass
class HandlerRequest:
    """A notebook handler (``alert.ipynb``) to start as a run of its own once this run has ended."""

    handler: str
    on: str  # success | error
    step: str | None = None
    error: dict[str, Any] | None = None
    cell: int | None = None

    event = "handler_request"


@dataclass
class ApprovalRequest:
    """A headless gate asks for a decision; the run suspends after this cell."""

    step: str
    approvers: list[str]
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None
    on_timeout: str = "reject"
    allow_self: bool = True
    groups: list[str] = field(default_factory=list)  # approver group names as written, for users' own groups
    cell: int | None = None

    event = "approval_request"


@dataclass
class ActionEvent:
    """One call of a ``jetnb.actions`` action, recorded under the step that made it (secrets masked)."""

    action: str  # e.g. http.request, email.send
    status: str  # succeeded | failed
    target: str | None = None  # the host (or database) reached; never a full URL, which may hold a secret
    duration: float | None = None
    attempts: int = 1
    error: dict[str, Any] | None = None
    detail: dict[str, Any] | None = None  # e.g. {"method": "POST", "status_code": 201}
    step: str | None = None  # the step running when the action was called
    started_at: str | None = None
    cell: int | None = None

    event = "action"


@dataclass
class ArtifactEvent:
    """``jetnb.artifact``: a file the kernel has written (atomically) into the run's ``artifacts/`` folder."""

    name: str
    size: int
    mime: str
    sha256: str
    step: str | None = None  # the step running when it was saved (the engine's cell says which, for plain cells)
    description: str | None = None
    created_at: str | None = None
    cell: int | None = None

    event = "artifact"


Event = Union[StepEvent, OutputEvent, HandlerRequest, ApprovalRequest, ActionEvent, ArtifactEvent]
EVENT_TYPES: dict[str, type] = {cls.event: cls for cls in (StepEvent, OutputEvent, HandlerRequest, ApprovalRequest,
                                                            ActionEvent, ArtifactEvent)}


class ProtocolError(ValueError):
    """An event the kernel sent that this jetnb cannot read (a different jetnb in the kernel, or a forged output)."""


def to_dict(event: Event) -> dict[str, Any]:
    """The JSON form displayed under ``MIME``."""
    return {"event": event.event, **_compact(asdict(event))}


def from_dict(data: dict[str, Any]) -> Event:
    """The typed event for a displayed JSON object; unknown keys are ignored (newer kernels may add some)."""
    kind = data.get("event") if isinstance(data, dict) else None
    cls = EVENT_TYPES.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ProtocolError(f"unknown jetnb event {kind!r}")
    known = {f.name for f in fields(cls)}
    try:
        return cls(**{k: v for k, v in data.items() if k in known})
    except TypeError as exc:
        raise ProtocolError(f"malformed jetnb {kind} event: {exc}") from None


def bundle(event: Event, text: str | None = None) -> dict[str, Any]:
    """The display bundle for an event: machine JSON plus the human line."""
    if text is None:
        text = event.line() if isinstance(event, StepEvent) else event.event
    return {MIME: to_dict(event), "text/plain": text}


@dataclass
class RunContext:
    """What the kernel is told about its run before the first cell (``jetnb.runtime.context.configure``)."""

    run_id: str | None = None
    workflow: str | None = None
    headless: bool = False
    trigger: str = "interactive"
    params: dict[str, Any] = field(default_factory=dict)
    started_by: str | None = None
    decisions: dict[str, dict[str, Any]] = field(default_factory=dict)  # step -> decision, when resuming
    journal_dir: str | None = None
    cwd: str | None = None
    run_started: float | None = None
    handlers: dict[str, str] = field(default_factory=dict)  # %%handler name -> body
    timeout: float | None = None
    withheld_env: list[str] = field(default_factory=list)  # variables the kernel removes from its environment
    artifacts_dir: str | None = None  # where ``jetnb.artifact`` writes (``runs/<workflow>/<run-id>/artifacts``)
    artifacts_max_bytes: int | None = None  # the run's artifacts together; None: ``artifact_rules.max_bytes()``

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunContext:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(frozen=True)
class Principal:
    """Who is acting, as a credential proved it: a personal token's user, the server token's ``admin``, the OS
    account at a terminal. Approver groups match ``groups`` too."""

    name: str
    groups: tuple[str, ...] = ()
    admin: bool = False
    token_id: str | None = None  # the personal token it came from (a web session ends when it is rotated)


@dataclass(repr=False)
class RunSecrets:
    """The secret values a run needs, handed to the kernel through a silent call of ``jetnb.runtime.secrets``.

    ``declared`` has every name the ``%%workflow`` cell declares, with None
    for those that have no value (``jetnb.secret`` then says where values
    come from); ``params`` has the values of the ``Secret`` parameters the
    run was given. The repr shows names only.
    """

    declared: dict[str, str | None] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"RunSecrets(declared={sorted(self.declared)}, params={sorted(self.params)})"

    def values(self) -> list[str]:
        """Every value, for masking."""
        return [v for v in (*self.declared.values(), *self.params.values()) if v]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunSecrets:
        return cls(dict(data.get("declared") or {}), dict(data.get("params") or {}))


@dataclass
class RunOutcome:
    """How an execution ended, as the executor reports it to the run service."""

    status: RunStatus
    error: dict[str, Any] | None = None
    result: Any = None
    outputs: dict[str, Any] = field(default_factory=dict)
    handler_requests: list[HandlerRequest] = field(default_factory=list)
    approval: ApprovalRequest | None = None
    worker: str | None = None  # where it ran, when not in this process
