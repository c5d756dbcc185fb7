"""What the kernel knows about the run it is part of: set by the runner, or defaults for interactive use."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class RunContext:
    run_id: str | None = None
    workflow: str | None = None
    headless: bool = False
    trigger: str = "interactive"
    params: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    result: Any = None
    handlers: dict[str, str] = field(default_factory=dict)


_current = RunContext()


def current() -> RunContext:
    return _current


def configure(**values: Any) -> RunContext:
    """Called once by the runner's bootstrap before the first cell; a fresh context per run."""
    global _current
    _current = RunContext(**values)
    return _current
