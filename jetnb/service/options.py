"""How one run executes beyond its notebook and parameters: the papermill knobs ``jetnb run`` takes.

They are kept with the run (``runs.options``) rather than held by the
process that started it, because a run may be resumed or rerun by another
process (``jetnb resume``, ``jetnb serve``) and must then execute the same
way: in the same folder, on the same kernel, under the same time limits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class RunOptions:
    cwd: str | None = None  # the kernel's working folder (absolute); None: the notebook's folder
    kernel: str | None = None  # overrides the notebook's kernelspec and ``%%workflow kernel``
    start_timeout: float | None = None  # seconds to wait for the kernel to start; None: 60 (papermill's default)
    execution_timeout: float | None = None  # seconds each cell may run; None: no limit

    def to_dict(self) -> dict[str, Any] | None:
        """What the store keeps: only the options given, None when there are none."""
        given = {key: value for key, value in asdict(self).items() if value is not None}
        return given or None

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> RunOptions:
        known = cls.__dataclass_fields__
        return cls(**{key: value for key, value in (values or {}).items() if key in known})
