"""The workflows a server serves: the notebooks under its folder, re-read when they are added, changed or removed.

A notebook with problems (as ``jetnb check`` reports them) is not served
until it is fixed; a workflow name or webhook name already taken by another
served notebook is refused the same way, and the one served first keeps it.

Parsing a notebook (``Workflow.load``: nbformat's schema, compiling every
cell) costs milliseconds, so the catalog parses only what changed: a scan
is given the paths that file-system events named (``watching.py``), and a
notebook the store registered (``remember``) is served from the stored config
and triggers, its full model loaded only when a run needs it — unread when its
size and modification time are the ones registered, else when its bytes still
match the registered digest. A scan's new and changed notebooks are parsed
together, a large batch on every core (``parsing.py``).

A scan may be given a ``budget`` of notebooks to parse: the rest are left
``pending`` for the next scans, so a server starting on thousands of new
notebooks answers at once and registers them in batches.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..model.workflow import Workflow
from ..triggers.base import PushKind, TriggerKind
from ..triggers.registry import UnknownTrigger
from ..triggers.registry import kind as trigger_kind
from .parsing import Admit, Parsed, Parser, Unparsed
from .watching import Changes

_loading = threading.Lock()


Signature = tuple[int, int]  # (st_mtime_ns, st_size): the same means the file was not written since


@dataclass(frozen=True)
class Trigger:
    kind: TriggerKind
    key: str  # stable across edits of params; a changed cron or source is a new trigger
    spec: dict[str, Any]

    @property
    def route(self) -> str | None:
        """The webhook route of a push trigger, else None."""
        return self.kind.route(self.spec) if isinstance(self.kind, PushKind) else None


@dataclass
class ServedWorkflow:
    """A served notebook: what the scheduler and the handlers need, its full model parsed on first use.

    ``stored`` says it was served from the store's record of the same bytes
    (nothing to register again).
    """

    name: str
    path: Path
    digest: str
    config: dict[str, Any]
    triggers: list[Trigger]
    model: Workflow | None = field(default=None, repr=False, compare=False)
    stored: bool = False
    signature: Signature | None = None  # the file's (mtime_ns, size) when it was read

    @classmethod
    def of_parsed(cls, parsed: Parsed, path: Path, digest: str, signature: Signature) -> ServedWorkflow:
        triggers = [Trigger(trigger_kind(kind), key, spec) for key, kind, spec in parsed.triggers]
        return cls(parsed.name, path, digest, parsed.config, triggers, parsed.model, signature=signature)

    @property
    def workflow(self) -> Workflow:
        """The full model (parameters, cells), parsed now if the notebook was served from the store's record."""
        if self.model is None:
            with _loading:
                if self.model is None:
                    self.model = Workflow.load(self.path)
        return self.model

    @property
    def description(self) -> str:
        return self.config.get("description") or ""

    def of_family(self, family: str) -> list[Trigger]:
        return [t for t in self.triggers if t.kind.family == family]


@dataclass(frozen=True)
class Registered:
    """A workflow as the store registered it: served again without parsing when its notebook's digest matches."""

    name: str
    path: Path
    digest: str
    config: dict[str, Any]
    triggers: list[tuple[str, str, dict[str, Any]]]  # (key, kind, spec)
    signature: Signature | None = None  # the file's (mtime_ns, size) when it was registered

    def served(self, signature: Signature) -> ServedWorkflow | None:
        """None when a trigger kind is no longer installed: then the notebook is parsed as if new. Registered again
        (``stored`` false) only when the file's ``signature`` is not the one the store has."""
        try:
            triggers = [Trigger(trigger_kind(kind), key, spec) for key, kind, spec in self.triggers]
        except UnknownTrigger:
            return None
        return ServedWorkflow(self.name, self.path, self.digest, self.config, triggers,
                              stored=signature == self.signature, signature=signature)


@dataclass
class ScanResult:
    served: dict[str, ServedWorkflow] = field(default_factory=dict)  # what to serve now; see Catalog.adopt
    added: list[ServedWorkflow] = field(default_factory=list)
    changed: list[ServedWorkflow] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    found: int = 0  # notebooks found in the folder: served, refused for problems, or pending
    pending: int = 0  # found but not read yet (past the scan's budget)

    def __bool__(self) -> bool:
        return bool(self.added or self.changed or self.removed or self.problems)


@dataclass
class _File:
    signature: Signature  # unchanged means not re-read
    digest: str
    served: ServedWorkflow | None  # None: the notebook has problems


class Catalog:
    """Scans ``directory`` for ``*.ipynb`` (skipping hidden folders and ``exclude``).

    ``scan`` says what changed; ``adopt`` then replaces ``served`` whole, so a
    caller can record the changes (in the store) before anyone sees them.
    """

    def __init__(self, directory: Path, exclude: tuple[Path, ...] = (), admit: Admit | None = None,
                 parser: Parser | None = None):
        """``admit``: which valid notebooks count as workflows (JupyterLab: those with a ``%%workflow`` cell);
        ``parser``: who parses a scan's notebooks (by default this thread alone)."""
        self.directory = directory.resolve()
        self.admit = admit
        self.parser = parser or Parser()
        self.exclude = tuple(p.resolve() for p in exclude)
        self.served: dict[str, ServedWorkflow] = {}
        self._routes: dict[str, tuple[ServedWorkflow, Trigger]] = {}
        self._files: dict[Path, _File] = {}
        self._remembered: dict[Path, Registered] = {}
        self._pending: set[Path] = set()  # found, not parsed yet: past a scan's budget
        self._budget: int | None = None
        self._dropped: set[str] = set()  # this scan: names the store registered whose notebook is gone or changed
        self.found = 0  # as of the last adopted scan (see ScanResult)
        self.pending = 0  # likewise: notebooks the next scans will read

    def get(self, name: str) -> ServedWorkflow | None:
        return self.served.get(name)

    def hook(self, route: str) -> tuple[ServedWorkflow, Trigger] | None:
        """The served workflow and push trigger (a webhook) answering at ``/hooks/<route>``."""
        return self._routes.get(route)

    def remember(self, registered: Iterable[Registered]) -> None:
        """What the store already serves: a notebook whose bytes still match is served from it, unparsed."""
        self._remembered = {r.path: r for r in registered}

    def adopt(self, result: ScanResult) -> None:
        routes = {t.route: (s, t) for s in result.served.values() for t in s.triggers if t.route is not None}
        self.served, self._routes = result.served, routes
        self.found, self.pending = result.found, result.pending

    def scan(self, changes: Changes | None = None, budget: int | None = None) -> ScanResult:
        """Re-read what changed on disk: every notebook, or only ``changes.paths`` (and what is pending); problems
        are reported once per version of a file. At most ``budget`` notebooks are parsed (in path order); the rest
        stay ``pending``."""
        result = ScanResult()
        if changes is None or changes.everything:
            paths = self._notebooks()
            gone = set(self._files) - paths
            self._pending &= paths
            vanished = self._remembered.keys() - paths  # deleted while no server was running
        else:
            paths, gone = set(), set()
            for named in changes.paths:
                (paths if named.is_file() and self._eligible(named) else gone).add(named.resolve())
            self._pending -= gone
            vanished = gone & self._remembered.keys()
            gone &= set(self._files)
            paths |= self._pending
        self._dropped = {self._remembered.pop(path).name for path in vanished}
        self._budget = budget
        touched: set[Path] = set()
        adding = True  # only notebooks not known before were read (so far)
        unparsed: list[Unparsed] = []
        try:
            for path in sorted(paths, key=str):
                known = path in self._files
                if self._budget == 0 and not known and path not in self._remembered:
                    self._pending.add(path)  # its turn comes in a later scan: not even looked at now
                elif self._read(path, result, unparsed):
                    touched.add(path)
                    adding = adding and not known
        finally:
            self._budget = None
        self._parse(unparsed, result)
        if not self._pending:
            self.parser.rest()
        for path in gone:
            del self._files[path]
        result.found, result.pending = len(self._files) + len(self._pending - self._files.keys()), len(self._pending)
        if not touched and not gone and not self._dropped:
            result.served = self.served
            return result
        served = self._serve(touched, result, adding=adding and not gone and not self._dropped)
        old = self.served
        result.added = [s for name, s in served.items() if name not in old]
        result.changed = [s for name, s in served.items()
                          if name in old and (old[name].digest, old[name].path) != (s.digest, s.path)]
        result.removed = [name for name in old if name not in served]
        result.removed += sorted(name for name in self._dropped - served.keys() if name not in old)
        result.served = served
        return result

    def _eligible(self, path: Path) -> bool:
        try:
            relative = path.relative_to(self.directory)
        except ValueError:
            return False
        if any(part.startswith(".") for part in relative.parts):
            return False
        return not any(path.is_relative_to(excluded) for excluded in self.exclude)

    def _notebooks(self) -> set[Path]:
        """Every eligible ``*.ipynb``, resolved; one directory listing per folder, no per-file system call but for
        symbolic links (the folder itself is resolved, and linked folders are not entered, as ``rglob`` does)."""
        found: set[Path] = set()
        excluded = {str(e) for e in self.exclude}
        folders = [str(self.directory)]
        while folders:
            try:
                entries = list(os.scandir(folders.pop()))
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if entry.path not in excluded:
                            folders.append(entry.path)
                        continue
                except OSError:
                    continue
                if not entry.name.endswith(".ipynb"):
                    continue
                path = Path(entry.path)
                if entry.is_symlink():
                    path = path.resolve()
                    if any(path.is_relative_to(e) for e in self.exclude):
                        continue
                found.add(path)
        return found

    def _read(self, path: Path, result: ScanResult, unparsed: list[Unparsed]) -> bool:
        """Bring one file's entry up to date; True when it is new or its content changed. A notebook to parse is
        added to ``unparsed`` (its entry is made by ``_parse``)."""
        self._pending.discard(path)  # back only if the budget is spent
        try:
            stat = path.stat()
            known = self._files.get(path)
            signature = (stat.st_mtime_ns, stat.st_size)
            if known and known.signature == signature:
                return False
            remembered = self._remembered.get(path) if known is None else None
            if remembered is not None and remembered.signature == signature:
                served = remembered.served(signature)
                if served is not None:  # not written since the store registered it: not even read
                    del self._remembered[path]
                    self._files[path] = _File(signature, remembered.digest, served)
                    return True
            if self._budget == 0:
                self._pending.add(path)  # it might need parsing, and the budget is spent
                return False
            data = path.read_bytes()
        except OSError:
            return False
        digest = hashlib.sha256(data).hexdigest()
        if known and known.digest == digest:
            known.signature = signature
            return False
        remembered = self._remembered.get(path)
        if remembered is not None and remembered.digest == digest and (served := remembered.served(signature)):
            del self._remembered[path]  # the bytes the store registered, touched since: served from its record
            self._files[path] = _File(signature, digest, served)
            return True
        if self._budget is not None:
            self._budget -= 1
        if remembered is not None:  # changed since it was registered: the store's record no longer stands
            self._dropped.add(self._remembered.pop(path).name)
        self._files[path] = _File(signature, digest, None)  # until parsed, below
        unparsed.append(Unparsed(path, data))
        return True

    def _parse(self, unparsed: list[Unparsed], result: ScanResult) -> None:
        """Parse what ``_read`` found new or changed and serve each valid workflow (None: not served)."""
        for notebook, parsed in zip(unparsed, self.parser.parse(unparsed, self.admit)):
            entry = self._files[notebook.path]
            result.problems.extend(parsed.problems)
            if parsed.admitted and not parsed.problems:
                entry.served = ServedWorkflow.of_parsed(parsed, notebook.path, entry.digest, entry.signature)

    def _serve(self, fresh: set[Path], result: ScanResult, *, adding: bool = False) -> dict[str, ServedWorkflow]:
        """What to serve: the workflows already served keep their names and routes, then every other notebook in
        path order. ``adding``: only new notebooks were read and nothing changed or went (a batch of a large start),
        so the served ones stay as they are and only the new ones are tried after them — what going over every
        file would decide (a notebook refused for a clash still clashes), without doing it for each batch."""
        if adding:
            order = sorted(fresh, key=str)
            served = dict(self.served)
            routes = {route: workflow.name for route, (workflow, _) in self._routes.items()}
        else:
            previous = {s.path for s in self.served.values()}
            order = sorted(self._files, key=lambda p: (p not in previous, str(p)))  # already served first: keep names
            served, routes = {}, {}
        for path in order:
            candidate = self._files[path].served
            if candidate is None:
                continue
            refused = self._clash(candidate, served, routes)
            if refused:
                if path in fresh:
                    result.problems.append(f"{path}: not served: {refused}")
                continue
            served[candidate.name] = candidate
            routes.update({t.route: candidate.name for t in candidate.triggers if t.route is not None})
        return served

    @staticmethod
    def _clash(candidate: ServedWorkflow, served: dict[str, ServedWorkflow], routes: dict[str, str]) -> str | None:
        if candidate.name in served:
            return f"workflow name {candidate.name!r} is already served from {served[candidate.name].path}"
        for trigger in candidate.triggers:
            if trigger.route is not None and trigger.route in routes:
                return f"webhook name {trigger.route!r} is already served by workflow {routes[trigger.route]!r}"
        return None
