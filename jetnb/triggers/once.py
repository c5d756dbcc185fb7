"""The ``once`` trigger: one tick at ``at``; afterwards it has no next fire time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from ..fields import Field, instant, timezone_name
from .base import PARAMS, TimeKind


@dataclass(frozen=True)
class OnceTiming:
    at: float

    def describe(self) -> str:
        return f"once at {datetime.fromtimestamp(self.at, timezone.utc).isoformat()}"

    def next_after(self, moment: float) -> float | None:
        return self.at if self.at > moment else None

    def newest(self, after: float, until: float, limit: int) -> list[float]:
        return [self.at] if after < self.at <= until and limit > 0 else []


class OnceKind(TimeKind):
    schema = {
        "at": Field(instant, required=True, help="ISO-8601 date-time; without offset read in `timezone`"),
        "timezone": Field(timezone_name, default="UTC"),
        "params": PARAMS,
    }

    def key(self, spec: dict[str, Any]) -> str:
        return f"once:{spec['at']}@{spec.get('timezone') or 'UTC'}"

    def label(self, spec: dict[str, Any]) -> str:
        return f"once at {spec.get('at')}"

    def timing(self, spec: dict[str, Any]) -> OnceTiming:
        at = datetime.fromisoformat(str(spec["at"]))
        if at.tzinfo is None:
            at = at.replace(tzinfo=ZoneInfo(spec.get("timezone") or "UTC"))
        return OnceTiming(at.timestamp())
