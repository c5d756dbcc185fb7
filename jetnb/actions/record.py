"""Every action call becomes one ``ActionEvent``: what was called, where, how it ended, under which step.

The event is displayed through ``runtime.events.emit``, so in a run the
engine keeps it in the run log under the cell that made the call, a person
in JupyterLab sees its status line, and plain Python (no IPython) records
nothing. What an event may hold is decided here: the action fills in a
``target`` (a host, never a URL) and a small ``detail``; the error message
is scrubbed of the secrets the action named.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..durations import format_duration
from ..protocol import SYMBOLS, ActionEvent
from ..runtime.context import current
from ..runtime.events import emit
from .redact import scrub


@dataclass
class Call:
    """What an action tells its record while it runs: where it goes, attempts so far, a small safe detail."""

    target: str | None = None
    attempts: int = 1
    detail: dict[str, Any] = field(default_factory=dict)
    secrets: list[str] = field(default_factory=list, repr=False)  # texts to scrub from the error message


@contextmanager
def recorded(action: str) -> Iterator[Call]:
    """Time the block and emit its event, succeeded or failed (interrupts too); the error is re-raised unchanged."""
    call = Call()
    started, clock = time.time(), time.monotonic()
    try:
        yield call
    except BaseException as exc:
        _emit(action, call, started, time.monotonic() - clock, exc)
        raise
    _emit(action, call, started, time.monotonic() - clock, None)


def _emit(action: str, call: Call, started: float, duration: float, exc: BaseException | None) -> None:
    error = None if exc is None else {"type": type(exc).__name__, "message": scrub(str(exc), call.secrets)}
    event = ActionEvent(
        action=action, status="failed" if exc else "succeeded", target=call.target, duration=round(duration, 6),
        attempts=call.attempts, error=error, detail=call.detail or None, step=current().current_step,
        started_at=datetime.fromtimestamp(started, timezone.utc).isoformat(timespec="milliseconds"),
    )
    emit(event, _line(event))


def _line(event: ActionEvent) -> str:
    """The status line a person sees: ``✓ http.request 127.0.0.1:8000 succeeded in 12ms``."""
    words = (SYMBOLS[event.status], event.action, event.target, event.status, "in", format_duration(event.duration))
    text = " ".join(word for word in words if word)
    if event.attempts > 1 and not event.error:  # an error's message already says how many
        text += f" ({event.attempts} attempts)"
    if event.error:
        text += f": {event.error['type']}: {event.error['message']}"
    return text
