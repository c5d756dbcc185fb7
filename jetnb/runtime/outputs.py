"""``jetnb.output(name=value)``: named values a step hands to whoever started the run."""

from __future__ import annotations

import json
from typing import Any

from ..protocol import OutputEvent
from . import context
from .events import emit


class OutputError(ValueError):
    """An output value that cannot be stored as JSON."""


def output(**values: Any) -> None:
    """Record JSON values with the run (``jetnb show``, ``--json``, the run log's metadata, webhook callers)."""
    for name, value in values.items():
        try:
            json.dumps(value)
        except (TypeError, ValueError) as exc:
            raise OutputError(f"jetnb.output: {name!r} must be JSON-serialisable ({exc})") from None
    context.current().outputs.update(values)
    summary = ", ".join(f"{k} = {json.dumps(v)[:60]}" for k, v in values.items())
    emit(OutputEvent(values), f"output: {summary}")
