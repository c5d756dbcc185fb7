"""The workflows a server serves: the notebooks under its folder, re-read when they are added, changed or removed.

A notebook with problems (as ``jetnb check`` reports them) is not served
until it is fixed; a workflow name or webhook name already taken by another
served notebook is refused the same way, and the one served first keeps it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model.workflow import Workflow
from ..triggers.base import PushKind, TriggerKind
from ..triggers.registry import kind as trigger_kind


@dataclass(frozen=True)
class Trigger:
    kind: TriggerKind
    key: str  # stable across edits of params; a changed cron or source is a new trigger
    spec: dict[str, Any]


@dataclass
class ServedWorkflow:
    workflow: Workflow
    digest: str
    triggers: list[Trigger]

    @property
    def name(self) -> str:
        return self.workflow.name

    @property
    def path(self) -> Path:
        return self.workflow.path

    @property
    def config(self) -> dict[str, Any]:
        return self.workflow.config.values

    def of_family(self, family: str) -> list[Trigger]:
        return [t for t in self.triggers if t.kind.family == family]


@dataclass
class ScanResult:
    served: dict[str, ServedWorkflow] = field(default_factory=dict)  # what to serve now; see Catalog.adopt
    added: list[ServedWorkflow] = field(default_factory=list)
    changed: list[ServedWorkflow] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


class Catalog:
    """Scans ``directory`` for ``*.ipynb`` (skipping hidden folders and ``exclude``).

    ``scan`` says what changed; ``adopt`` then replaces ``served`` whole, so a
    caller can record the changes (in the store) before anyone sees them.
    """

    def __init__(self, directory: Path, exclude: tuple[Path, ...] = ()):
        self.directory = directory.resolve()
        self.exclude = tuple(p.resolve() for p in exclude)
        self.served: dict[str, ServedWorkflow] = {}
        self._files: dict[Path, tuple[tuple[int, int], str, Workflow]] = {}  # path -> (stat, digest, model)

    def get(self, name: str) -> ServedWorkflow | None:
        return self.served.get(name)

    def hook(self, route: str) -> tuple[ServedWorkflow, Trigger] | None:
        """The served workflow and push trigger (a webhook) answering at ``/hooks/<route>``."""
        for served in self.served.values():
            for trigger in served.of_family("push"):
                if isinstance(trigger.kind, PushKind) and trigger.kind.route(trigger.spec) == route:
                    return served, trigger
        return None

    def _notebooks(self) -> list[Path]:
        found = []
        for path in self.directory.rglob("*.ipynb"):
            relative = path.relative_to(self.directory)
            if any(part.startswith(".") for part in relative.parts):
                continue
            if any(path.resolve().is_relative_to(excluded) for excluded in self.exclude):
                continue
            found.append(path.resolve())
        return sorted(found)

    def adopt(self, result: ScanResult) -> None:
        self.served = result.served

    def scan(self) -> ScanResult:
        """Re-read what changed on disk; problems are reported once per version of a file."""
        result = ScanResult()
        models: dict[Path, tuple[str, Workflow]] = {}
        fresh: set[Path] = set()
        for path in self._notebooks():
            try:
                stat = path.stat()
            except OSError:
                continue
            known = self._files.get(path)
            signature = (stat.st_mtime_ns, stat.st_size)
            if known and known[0] == signature:
                models[path] = known[1:]
                continue
            try:
                digest = hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError:
                continue
            if known and known[1] == digest:
                model = known[2]
            else:
                model = Workflow.load(path)
                result.problems.extend(str(p) for p in model.problems)
            self._files[path] = (signature, digest, model)
            models[path] = (digest, model)
            fresh.add(path)
        self._files = {p: v for p, v in self._files.items() if p in models}
        served = self._serve(models, fresh, result)
        old = self.served
        result.added = [s for name, s in served.items() if name not in old]
        result.changed = [s for name, s in served.items()
                          if name in old and (old[name].digest, old[name].path) != (s.digest, s.path)]
        result.removed = [name for name in old if name not in served]
        result.served = served
        return result

    def _serve(self, models: dict[Path, tuple[str, Workflow]], fresh: set[Path],
               result: ScanResult) -> dict[str, ServedWorkflow]:
        previous = {s.path: s.name for s in self.served.values()}
        order = sorted(models, key=lambda p: (p not in previous, str(p)))  # already served first: they keep their names
        served: dict[str, ServedWorkflow] = {}
        hooks: dict[str, str] = {}
        for path in order:
            digest, model = models[path]
            if model.problems:
                continue
            refused = self._clash(model, served, hooks)
            if refused:
                if path in fresh:
                    result.problems.append(f"{path}: not served: {refused}")
                continue
            triggers = self._triggers(model)
            served[model.name] = ServedWorkflow(model, digest, triggers)
            hooks.update({t.kind.route(t.spec): model.name for t in triggers if isinstance(t.kind, PushKind)})
        return served

    @staticmethod
    def _clash(model: Workflow, served: dict[str, ServedWorkflow], hooks: dict[str, str]) -> str | None:
        if model.name in served:
            return f"workflow name {model.name!r} is already served from {served[model.name].path}"
        for name, spec in model.config.triggers:
            kind = trigger_kind(name)
            if isinstance(kind, PushKind) and kind.route(spec) in hooks:
                route = kind.route(spec)
                return f"webhook name {route!r} is already served by workflow {hooks[route]!r}"
        return None

    @staticmethod
    def _triggers(model: Workflow) -> list[Trigger]:
        triggers: dict[str, Trigger] = {}
        for name, spec in model.config.triggers:
            kind = trigger_kind(name)
            key = kind.key(spec)
            triggers.setdefault(key, Trigger(kind, key, spec))
        return list(triggers.values())
