"""The control plane of ``jetnb serve``: the served workflows, the run service on its worker pool, and what the
server does, logged and audited.

Every trigger ends in the run service (``launch`` is ``RunService.submit``
with this server's identity for automatic triggers); what the server does
is logged to stderr and written to the store's audit log by ``note``.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any, Callable

from ..clock import Clock
from ..executor import close_backends, get_backend
from ..model.retention import RetentionPolicy
from ..model.workflow import Workflow
from ..secrets.environment import withhold
from ..secrets.masking import SecretTooShort, masker
from ..service.dispatcher import Dispatcher
from ..service.retention import prune
from ..service.commits import AuditEntry
from ..service.runs import RunService
from ..store import Database, Store, WorkflowRecord
from .catalog import Catalog, Registered, ScanResult, ServedWorkflow
from .parsing import Parser
from .pausing import Pausing, pause_by_hand
from .watching import NotebookWatcher

log = logging.getLogger("jetnb.serve")
ACTOR = "jetnb serve"
LOGGED_CHANGES = 50  # more workflows registered at once than this get one summary line, not one line each
PARSE_BATCH = 500  # notebooks parsed per look (see decisions): the rest wait for the next look, while it answers


class ControlPlane:
    def __init__(self, directory: Path, *, store_path: Path, runs_dir: Path, max_runs: int, clock: Clock,
                 backend: str = "local", cancel_grace: float | None = None, retention: RetentionPolicy | None = None,
                 public_url: str | None = None):
        self.directory = Path(directory)
        self.retention = retention  # for workflows without ``retention:`` of their own
        self.db = Database(store_path)
        self.clock = clock
        self.dispatcher = Dispatcher(max_runs)
        self.service = RunService(self.db, runs_dir=runs_dir, strategy=self.dispatcher, backend=backend,
                                  hooks=[Pausing(self)], public_url=public_url,
                                  **({} if cancel_grace is None else {"cancel_grace": cancel_grace}))
        self.catalog = Catalog(self.directory, exclude=(self.service.runs_dir,) if self.service.runs_dir else (),
                               parser=Parser.on_every_core())
        self.watcher = NotebookWatcher(self.catalog.directory, exclude=self.catalog.exclude)
        self._warmed = False  # see _warm_up

    # store and audit ----------------------------------------------------

    def store(self) -> Store:
        """This thread's connection; the server acknowledges work, so its commits are durable."""
        return self.db.store(durable=True)

    def note(self, kind: str, message: str, *, workflow: str | None = None, level: int = logging.INFO,
             **detail: Any) -> None:
        """One log line on stderr and one audit entry (``workflow.<kind>`` or ``server.<kind>``) in the store.

        The entry is written with the next group commit, not waited for: a
        webhook's 202 must not wait for a second commit of its own.
        """
        entry = self.noted(kind, message, workflow=workflow, level=level, **detail)
        self.service.commits().submit(lambda store: store.audit(*entry))

    @staticmethod
    def noted(kind: str, message: str, *, workflow: str | None = None, level: int = logging.INFO, quiet: bool = False,
              **detail: Any) -> AuditEntry:
        """``note``'s log line (unless ``quiet``), and its audit entry for the caller to write with others."""
        if not quiet:
            log.log(level, "%s: %s", kind, message)
        subject = f"workflow:{workflow}" if workflow else "server"
        return ACTOR, f"{subject.partition(':')[0]}.{kind}", subject, {"message": message, **detail}

    # lifecycle ------------------------------------------------------------

    def start(self) -> None:
        """Recover what a previous server left, register the notebooks, start the run workers."""
        store = self.store()
        reaped = self.service.recover()
        if reaped:
            self.note("recover", f"{reaped} run(s) left running by a process that is gone were marked interrupted")
        self.catalog.remember(Registered(r.name, Path(r.path), r.digest, r.config, r.triggers, r.signature)
                              for r in store.registered_workflows())
        self.watcher.start()  # before the first walk: a notebook saved meanwhile is seen at the next look
        self.sync()
        for run_id in store.claim_queued():
            run = store.get_run(run_id, with_steps=False)
            self.note("recover", f"picking up run {run_id} of {run['workflow']} ({run['trigger']}), queued before "
                      "the last stop", workflow=run["workflow"], run_id=run_id)
            self.service.start(run_id)
        self.dispatcher.start()

    def _warm_up(self) -> None:
        """Make the backend now, so a kernel pool or zygote is ready before the first trigger fires — once every
        notebook found is registered: a first start on thousands of notebooks parses them with the second core
        free (a run that starts meanwhile makes the backend itself). ``sync`` calls it after each look, the first
        one (``start``'s, a full walk) included."""
        if not self.catalog.pending and not self._warmed:
            self._warmed = True
            get_backend(self.service.backend)

    def shutdown(self, grace: float, hurry: threading.Event) -> None:
        for run_id in self.dispatcher.stop(grace, hurry):
            self.note("interrupt", f"run {run_id} interrupted: the server stopped", run_id=run_id)

    def close(self) -> None:
        """Close every thread's store connection and release pre-started kernels; the last thing the server does."""
        self.watcher.stop()
        self.catalog.parser.rest()
        self.service.close()
        close_backends()
        self.db.close()

    def sync(self) -> ScanResult:
        """Re-read what changed in the folder and bring the store's workflows and triggers in line with it.

        Costs nothing when no file-system event came since the last call and
        nothing is pending. At most ``PARSE_BATCH`` notebooks are parsed per
        call (those served from the store's record cost no parse): a server
        finding thousands of new notebooks serves each batch as it is
        registered, and the scheduler calls again at once while
        ``catalog.pending``. The new and changed workflows are registered,
        with their audit entries, in one transaction per call; workflows
        served from the store's own record are already registered.
        """
        changes = self.watcher.take()
        if not changes and not self.catalog.pending:
            return ScanResult(served=self.catalog.served)
        result = self.catalog.scan(changes, budget=PARSE_BATCH)
        for problem in result.problems:
            self.note("problem", problem, level=logging.WARNING)
        fresh = [*result.added, *result.changed]
        registering = [served for served in fresh if not served.stored]  # the rest: the store's record, unchanged
        quiet = len(fresh) + len(result.removed) > LOGGED_CHANGES
        added = {served.name for served in result.added}  # by name: ``in`` on the list compared whole dataclasses
        told = [(served, self.noted("register", f"{'serving' if served.name in added else 'reloaded'} {served.name} "
                                    f"({served.path}): "
                                    f"{', '.join(t.kind.name for t in served.triggers) or 'no triggers'}",
                                    workflow=served.name, quiet=quiet))
                for served in fresh if not (quiet and served.stored)]
        entries = [entry for served, entry in told if not served.stored]  # audited: what the store now registers
        store = self.store()
        self._protect_secrets(fresh)
        with store.transaction():
            store.register_workflows([WorkflowRecord(s.name, str(s.path), s.digest, s.config,
                                                     [(t.key, t.kind.name, t.spec) for t in s.triggers], s.signature)
                                      for s in registering], now=self.clock.now())
            for name in result.removed:
                store.remove_workflow(name, now=self.clock.now())
            store.audit_many(entries)
        if quiet:
            kept = len(fresh) - len(registering)
            stored = f"; {kept} as the store registered them" if kept else ""
            pending = f"; {result.pending} notebook(s) still to read" if result.pending else ""
            log.info("register: serving %d workflow(s) (%d new or changed, %d gone) from %s%s%s", len(result.served),
                     len(registering), len(result.removed), self.directory, stored, pending)
        self.catalog.adopt(result)  # only now do handlers and loops see the workflows, already in the store
        for name in result.removed:
            self.note("unregister", f"{name} is gone from {self.directory}: its triggers stopped", workflow=name)
        self._warm_up()
        return result

    def _protect_secrets(self, workflows: list[ServedWorkflow]) -> None:
        """Webhook secrets (``secret_env``) and declared secrets are never in a kernel's environment, pre-started
        ones included (known before they start); webhook secrets are masked wherever they would show."""
        names = {t.spec["secret_env"] for served in workflows for t in served.triggers if t.spec.get("secret_env")}
        withhold(names | {name for served in workflows for name in served.config.get("secrets") or ()})
        for name in sorted(n for n in names if os.environ.get(n)):  # an unset one refuses its hook's deliveries
            try:
                masker.remember(os.environ[name])
            except SecretTooShort:
                log.warning("webhook secret %s is too short to be masked in logs and run logs; use at least 6 "
                            "characters", name)

    # starting runs --------------------------------------------------------

    def launch(self, workflow: Workflow, params: dict[str, Any], *, trigger: str, started_by: str | None = None,
               detail: dict[str, Any] | None = None, rerun_of: str | None = None, exclusive: bool = False,
               also: Callable[[Store, str], None] | None = None) -> str:
        """Validate, record the run (and ``also``'s rows) in one transaction, then queue it; returns the run id.

        ``started_by`` defaults to ``trigger:<kind>`` for automatic triggers.
        """
        return self.service.submit(workflow, params, trigger=trigger, started_by=started_by or f"trigger:{trigger}",
                                   detail=detail, rerun_of=rerun_of, exclusive=exclusive, also=also)

    def prune(self) -> None:
        """Apply retention now (the retention loop calls this at start and every hour of the clock)."""
        report = prune(self.store(), now=self.clock.now(), by=ACTOR, default=self.retention)
        if report.removed:
            log.info("prune: %d ended run(s) removed as retention says (%d file(s) and folder(s))",
                     len(report.removed), report.files)
        for problem in report.problems:
            log.warning("prune: %s", problem)

    def accept(self, workflow: Workflow, params: dict[str, Any], *, trigger: str, started_by: str | None = None,
               detail: dict[str, Any] | None = None, deliveries: tuple[tuple[str, str], ...] = (),
               unless_paused: bool = False, note: Callable[[str], AuditEntry] | None = None) -> Future[str]:
        """``launch`` for work acknowledged to a caller (webhooks, the API): validated now, then group-committed with
        other callers' runs; the future resolves to the run id once it is durable (see ``RunService.accept``)."""
        return self.service.accept(workflow, params, trigger=trigger, started_by=started_by or f"trigger:{trigger}",
                                   detail=detail, deliveries=deliveries, unless_paused=unless_paused, note=note)

    def is_paused(self, name: str) -> bool:
        return self.store().is_paused(name)

    def set_paused(self, name: str, paused: bool, reason: str, *, by: str = ACTOR) -> bool:
        """Pause or unpause by hand (API, pages); automatic pauses are ``Pausing``'s."""
        return pause_by_hand(self.store(), name, paused, reason, now=self.clock.now(), by=by)
