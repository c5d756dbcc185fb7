"""The workflow notebooks under the Lab root, and how the sidebar describes them.

A notebook is listed when it declares itself a workflow (a ``%%workflow``
cell); plain notebooks are run with "Run as workflow" instead, so a home
folder full of notebooks does not flood the list. A listed notebook with
problems keeps them (as ``jetnb check`` words them) instead of being hidden,
and a second notebook taking a name already listed is refused the way
``jetnb serve`` refuses it: the first (by path) keeps the name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..control.overview import trigger_view
from ..model.workflow import Problem, Workflow
from ..store import Store, WorkflowNotFound
from ..store.rows import iso
from ..triggers.registry import UnknownTrigger
from ..triggers.registry import kind as trigger_kind


@dataclass
class Listed:
    workflow: Workflow
    problems: list[str]


class LabWorkflows:
    """Scans ``root`` for ``*.ipynb`` (skipping hidden folders and ``exclude``, the run logs), re-reading changed files only."""

    def __init__(self, root: Path, exclude: Path):
        self.root = root
        self.exclude = exclude
        self._models: dict[Path, tuple[tuple[int, int], Workflow]] = {}  # path -> ((mtime, size), model)

    def scan(self) -> list[Listed]:
        listed: list[Listed] = []
        owners: dict[str, Path] = {}
        models = {path: self._load(path) for path in self._notebooks()}
        self._models = {p: m for p, m in self._models.items() if p in models}
        for path, model in models.items():
            if model is None or not declares_workflow(model):
                continue
            problems = [describe(p) for p in model.problems]
            if not problems and model.name in owners:
                problems.append(f"the name {model.name!r} is already taken by "
                                f"{owners[model.name].relative_to(self.root).as_posix()}")
            elif not problems:
                owners[model.name] = path
            listed.append(Listed(model, problems))
        return listed

    def named(self, name: str) -> Workflow:
        """The runnable workflow of that name; LookupError when there is none."""
        for found in self.scan():
            if found.workflow.name == name and not found.problems:
                return found.workflow
        raise LookupError(f"no workflow {name!r} in the Lab root")

    def _notebooks(self) -> list[Path]:
        found = []
        for path in self.root.rglob("*.ipynb"):
            relative = path.relative_to(self.root)
            if any(part.startswith(".") for part in relative.parts) or path.resolve().is_relative_to(self.exclude):
                continue
            found.append(path)
        return sorted(found)

    def _load(self, path: Path) -> Workflow | None:
        try:
            stat = path.stat()
        except OSError:
            return None
        signature = (stat.st_mtime_ns, stat.st_size)
        known = self._models.get(path)
        if known is None or known[0] != signature:
            known = self._models[path] = (signature, Workflow.load(path))
        return known[1]


def declares_workflow(model: Workflow) -> bool:
    return any(cell.role == "workflow" for cell in model.cells)


def describe(problem: Problem) -> str:
    """A problem without its file: the sidebar shows it under the notebook it belongs to."""
    return f"cell {problem.cell}: {problem.message}" if problem.cell else problem.message


def workflow_view(store: Store, model: Workflow, problems: list[str], root: Path, now: float, *,
                  full: bool = False) -> dict[str, Any]:
    """The sidebar's view of a workflow (``GET workflows``); ``full`` adds its parameters (``GET workflows/<name>``)."""
    latest = store.latest_run(model.name)
    try:
        paused = store.workflow_state(model.name)["paused"]
    except WorkflowNotFound:  # never served: nothing can have paused it
        paused = False
    path = model.path.resolve()
    view: dict[str, Any] = {
        "name": model.name,
        "path": path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path),
        "description": model.description,
        "triggers": [] if problems else trigger_views(store, model, now),
        "paused": paused,
        "last_run": latest and {"id": latest["id"], "status": latest["status"], "created_at": iso(latest["created_at"])},
        "problems": problems,
    }
    if full:
        view["parameters"] = [parameter_view(p.to_dict()) for p in model.parameters]
    return view


def parameter_view(declared: dict[str, Any]) -> dict[str, Any]:
    """name, type, default and help; ``default_source`` is the expression of a default the notebook computes."""
    return {k: declared[k] for k in ("name", "type", "default", "help", "default_source")}


def trigger_views(store: Store, model: Workflow, now: float) -> list[dict[str, Any]]:
    """Each declared trigger once (as ``jetnb serve`` keys them), with its label and next fire time."""
    views: dict[str, dict[str, Any]] = {}
    for name, spec in model.config.triggers:
        try:
            known = trigger_kind(name)
        except UnknownTrigger:
            views[name] = {"kind": name, "label": name, "next_fire": None}
            continue
        row = {"workflow": model.name, "kind": name, "key": known.key(spec), "spec": spec, "registered_at": None}
        view = trigger_view(store, row, now)
        views.setdefault(row["key"], {"kind": name, "label": view["label"], "next_fire": view.get("next_fire")})
    return list(views.values())
