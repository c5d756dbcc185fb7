"""``jetnb check``: everything that can be known about a notebook without running it."""

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


def _schema_problems(path: Path) -> list[Problem]:
    """nbformat's own schema check, for notebooks that parse as JSON but are not valid notebooks."""
    from ..executor.fastimport import skip_unused_grammar

    skip_unused_grammar()
    import nbformat

    try:
        nb = nbformat.read(str(path), as_version=nbformat.NO_CONVERT)
        nbformat.validate(nb)
    except nbformat.ValidationError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        cell = int(exc.absolute_path[1]) + 1 if len(exc.absolute_path) > 1 and exc.absolute_path[0] == "cells" \
            else None
        return [Problem(str(path), cell, f"invalid notebook: {exc.message}" + (f" (at {where})" if where else ""))]
    except Exception as exc:  # nbformat raises several types for unreadable documents
        return [Problem(str(path), None, f"invalid notebook: {exc}")]
    return []


def check_notebook(path: Path) -> Report:
    workflow = Workflow.load(path)
    problems = list(workflow.problems)
    if workflow.cells:
        problems.extend(_schema_problems(path))
    triggers = ", ".join(kind for kind, _ in workflow.config.triggers) or "manual only"
    summary = (f"workflow {workflow.name}: {len(workflow.parameters)} parameters, {len(workflow.steps)} steps, "
               f"triggers: {triggers}")
    return Report(str(path), problems, summary)
