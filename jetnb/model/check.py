"""``jetnb check``: everything that can be known about a notebook without running it (``Workflow.load``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .workflow import Problem, Workflow


@dataclass
class Report:
    path: str
    problems: list[Problem] = field(default_factory=list)
    summary: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "ok": not self.problems, "summary": self.summary,
                "problems": [p.to_dict() for p in self.problems]}


def check_notebook(path: Path) -> Report:
    workflow = Workflow.load(path)
    triggers = ", ".join(kind for kind, _ in workflow.config.triggers) or "manual only"
    summary = (f"workflow {workflow.name}: {len(workflow.parameters)} parameters, {len(workflow.steps)} steps, "
               f"triggers: {triggers}")
    return Report(str(path), list(workflow.problems), summary)
