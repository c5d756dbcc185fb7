"""The run service: the only way runs are submitted, executed, decided, resumed, cancelled and failed.

Every interface (the CLI, widgets, ``jetnb serve``'s triggers and API,
handler notebooks, ``on_pause`` runs) goes through one ``RunService``; what
differs is its execution strategy (``strategies.py``, ``dispatcher.py``).
The life of a run, with the hooks around it (as jupyter-scheduler's
execution manager):

``submit`` validates and records the run ``queued`` (joining the caller's
transaction) → the strategy asks ``admit`` until the store lets it start →
``execute`` builds the request, runs the backend with a recorder and a
cancel signal, and ``_finish`` records how it ended, starts handler
notebooks, resumes a gate decided while it was suspending, and calls the
``on_finished`` hooks (pausing, notifications).
"""

from __future__ import annotations

import errno
import logging
import os
import threading
import time
import traceback
from concurrent.futures import Future
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Protocol

from ..location import absolute, is_url, join, remove_tree
from ..executor import get_backend
from ..executor.cancel import DEFAULT_GRACE, CancelSignal, StopKind
from ..executor.remote import RemoteIOError, local_copy
from ..model.params import ParameterError, coerce_params, typed
from ..model.workflow import Workflow, WorkflowError
from ..paths import secrets_path
from ..protocol import HandlerRequest, Principal, RunOutcome, RunStatus
from .. import artifact_files as files
from ..runfiles import artifacts_dir, journal_dir
from ..store import Database, RunIdTaken, RunStateError, Store, new_run_id
from ..store.intake import NewRun
from ..store.runs import ID_DRAWS
from .admission import Admission
from .commits import AuditEntry, GroupCommit
from .notify import Notifier
from .options import RunOptions
from .recorder import Progress, RunRecorder
from .request import build_request, completed_steps, prepare
from .run_secrets import RunSecretsKeeper, SecretsUnavailable, not_kept
from .strategies import Strategy

log = logging.getLogger("jetnb")
RESUMABLE = (RunStatus.WAITING, RunStatus.FAILED, RunStatus.INTERRUPTED)
CANCEL_POLL = 0.25  # seconds between looks for cancel requests made by other processes
FOLDER_RECHECK = 1.0  # seconds a runs folder found writable is not looked at again (every submission asks)


@lru_cache(maxsize=4096)
def real_path(path: Path) -> str:
    """A notebook's resolved path, remembered: resolving costs a stat per folder level at every submission."""
    return str(path.resolve())


class ResumeError(ValueError):
    """A run that cannot be resumed now; the message says why and what to do."""


class RunsFolderError(ValueError):
    """Run logs cannot be written where they should go (a file in the way, no permission); nothing was recorded."""


class RunHook(Protocol):
    def on_recorded(self, store: Store, run: dict[str, Any]) -> None:
        """Inside the transaction that records how a run ended (or suspended): store writes that must be seen
        together with the status (e.g. the workflow's failure count)."""
        ...

    def on_finished(self, service: RunService, run: dict[str, Any]) -> None:
        """After that transaction: side effects (start a notification run...)."""
        ...


class RunService:
    def __init__(self, db: Database, *, runs_dir: str | Path, strategy: Strategy, backend: str = "local",
                 hooks: list[RunHook] | None = None, progress: Progress | None = None,
                 cancel_grace: float = DEFAULT_GRACE, log_output: bool = False, public_url: str | None = None):
        """``public_url``: where people reach ``jetnb serve``, for the links in notifications (none from the CLI).

        ``runs_dir``: a local folder or an fsspec URL (``s3://bucket/runs``), see ``jetnb.location``."""
        self.db = db
        self._runs_dir = absolute(runs_dir)
        self.runs_dir: Path | None = None if is_url(runs_dir) else Path(self._runs_dir)
        self.strategy = strategy
        self.backend = backend
        self.notifier = Notifier(public_url)  # every run's declared notifications, whoever started it
        self.hooks: list[RunHook] = [*(hooks or []), self.notifier]
        self.progress = progress
        self.cancel_grace = cancel_grace
        self.log_output = log_output  # the notebooks' outputs to papermill's logger too (``jetnb run --log-output``)
        self.stopping = threading.Event()
        self._executing: dict[str, CancelSignal] = {}
        self._lock = threading.Lock()
        self._limits: dict[tuple[str, int], tuple[int, bool]] = {}  # (notebook, mtime) -> (concurrency, ok)
        self._folders_ok: dict[str, float] = {}  # runs folder -> when (monotonic) it was last found writable
        self._watcher: threading.Thread | None = None
        self.secrets = RunSecretsKeeper(secrets_path(db.path))
        self._commits: GroupCommit | None = None
        strategy.bind(self)

    def store(self) -> Store:
        return self.db.store(durable=self.strategy.durable)

    def status(self, run_id: str) -> RunStatus:
        return RunStatus(self.store().get_run(run_id, with_steps=False)["status"])

    def workflows_of(self, run_ids: list[str]) -> dict[str, str]:
        """Run id -> workflow name, for the runs of ``run_ids`` in the store."""
        return self.store().run_workflows(run_ids)

    # submitting ---------------------------------------------------------------

    def submit(self, workflow: Workflow, params: dict[str, Any], *, trigger: str, started_by: str,
               detail: dict[str, Any] | None = None, rerun_of: str | None = None, exclusive: bool = False,
               also: Callable[[Store, str], None] | None = None, options: RunOptions | None = None,
               location: str | None = None) -> str:
        """Record the run (with ``also``'s rows, in one transaction), then hand it to the strategy; returns its id."""
        write = self._recording(workflow, params, trigger=trigger, started_by=started_by, detail=detail,
                                rerun_of=rerun_of, exclusive=exclusive, also=also, options=options,
                                location=location)
        store = self.store()
        with store.transaction():
            run_id = write(store)
        self.start(run_id)
        return run_id

    def accept(self, workflow: Workflow, params: dict[str, Any], *, trigger: str, started_by: str,
               detail: dict[str, Any] | None = None, deliveries: tuple[tuple[str, str], ...] = (),
               unless_paused: bool = False, note: Callable[[str], AuditEntry] | None = None) -> Future[str]:
        """``submit`` for acknowledged work (a webhook, an API call), group-committed with other callers' runs.

        Validates now (ParameterError, RunsFolderError); the future resolves to
        the run id once the run, its ``deliveries`` keys ((hook, id) pairs)
        and ``note`` (an audit entry, given the run id) are durably committed
        and the run is handed to the strategy, or (nothing of this run
        written) to AlreadyDelivered when one of the keys was recorded before,
        or to WorkflowPaused when ``unless_paused`` and the workflow is paused.
        """
        new, held = self._validated(workflow, params, trigger=trigger, started_by=started_by, detail=detail,
                                    deliveries=deliveries, unless_paused=unless_paused)

        def then(run_id: str) -> None:
            self.secrets.hold(run_id, held)
            self.start(run_id, workflow.name)

        return self.commits().accept(new, then=then, note=note)

    def commits(self) -> GroupCommit:
        """The group committer (started on first use: only servers acknowledge work)."""
        with self._lock:
            if self._commits is None:
                self._commits = GroupCommit(self.db)
            return self._commits

    def record(self, workflow: Workflow, params: dict[str, Any], *, trigger: str, started_by: str,
               detail: dict[str, Any] | None = None, rerun_of: str | None = None, exclusive: bool = False,
               options: RunOptions | None = None, location: str | None = None) -> str:
        """Validate and record the run ``queued``, joining the caller's transaction; ``start`` it after the commit.

        Raises ParameterError before anything is recorded. ``exclusive``
        (``overlap: queue``) admits the run only when no other run of its
        workflow is running. ``location`` is the notebook's URL when
        ``workflow`` was read from a download of it: the record names the
        URL, and each execution downloads it again.
        """
        return self._recording(workflow, params, trigger=trigger, started_by=started_by, detail=detail,
                               rerun_of=rerun_of, exclusive=exclusive, options=options,
                               location=location)(self.store())

    def _recording(self, workflow: Workflow, params: dict[str, Any], *, trigger: str, started_by: str,
                   detail: dict[str, Any] | None = None, rerun_of: str | None = None, exclusive: bool = False,
                   also: Callable[[Store, str], None] | None = None, options: RunOptions | None = None,
                   location: str | None = None) -> Callable[[Store], str]:
        """Validate now (``_validated``); the returned call writes the queued run (and ``also``'s rows) on the
        store it is given and returns the run id."""
        new, held = self._validated(workflow, params, trigger=trigger, started_by=started_by, detail=detail,
                                    rerun_of=rerun_of, exclusive=exclusive, options=options, location=location)

        def write(store: Store) -> str:
            for _ in range(ID_DRAWS):
                run_id = new_run_id()
                try:
                    store.create_run(run_id=run_id, log_path=new.log_path(run_id), **new.fields)
                    break
                except RunIdTaken:
                    continue
            else:
                raise RunIdTaken(f"no free run id in {ID_DRAWS} draws")
            self.secrets.hold(run_id, held)
            if also is not None:
                also(store, run_id)
            return run_id

        return write

    def _validated(self, workflow: Workflow, params: dict[str, Any], *, trigger: str, started_by: str,
                   detail: dict[str, Any] | None = None, rerun_of: str | None = None, exclusive: bool = False,
                   options: RunOptions | None = None, location: str | None = None,
                   deliveries: tuple[tuple[str, str], ...] = (),
                   unless_paused: bool = False) -> tuple[NewRun, dict[str, str]]:
        """The run to record and its Secret values to hold; ParameterError or RunsFolderError before anything is
        written.

        ``Secret`` parameters are stored as ``***``; their values are held in
        this process (``self.secrets``) for the run's executions."""
        stored, held = self.secrets.split(workflow, coerce_params(workflow.parameters, params))
        self.writable_folder(workflow.name)
        runs_dir, name = self._runs_dir, workflow.name
        fields = {"workflow": name, "notebook": location or real_path(workflow.path), "params": stored,
                  "trigger": trigger, "trigger_detail": detail, "rerun_of": rerun_of, "started_by": started_by,
                  "exclusive": exclusive, "durable": self.strategy.durable,
                  "options": options.to_dict() if options else None}
        return NewRun(fields, lambda run_id: join(runs_dir, name, f"{run_id}.ipynb"), deliveries, unless_paused), held

    def writable_folder(self, workflow: str = "") -> None:
        """The (workflow's) folder of run logs exists and takes files; RunsFolderError (before recording) if not.
        A URL is checked when the first run log is written there (object stores have no folders to check).

        A folder found writable is looked at again only after ``FOLDER_RECHECK``
        seconds (a server under load asks at every submission); one that goes
        bad meanwhile fails the run when its log is written, recorded."""
        if self.runs_dir is None:
            return
        folder = os.path.join(self._runs_dir, workflow) if workflow else self._runs_dir
        now = time.monotonic()
        if self._folders_ok.get(folder, -FOLDER_RECHECK) > now - FOLDER_RECHECK:
            return
        try:
            if not os.path.isdir(folder):
                os.makedirs(folder, exist_ok=True)
            if not os.access(folder, os.W_OK | os.X_OK):
                raise PermissionError(errno.EACCES, "permission denied", folder)
        except OSError as exc:
            self._folders_ok.pop(folder, None)
            raise RunsFolderError(f"cannot write run logs under {folder}: {exc.strerror or exc}") from None
        self._folders_ok[folder] = now

    def start(self, run_id: str, workflow: str | None = None) -> None:
        """Hand a committed queued run (of ``workflow``, if the caller knows) to the strategy (inline, a thread, the
        dispatcher)."""
        self.strategy.submit(run_id, workflow)

    def active(self, workflow: str) -> int:
        """Runs of ``workflow`` queued or running, in any process (what ``overlap`` looks at)."""
        return self.store().count_runs(workflow, RunStatus.QUEUED, RunStatus.RUNNING)

    # admission -----------------------------------------------------------------

    def admit(self, run_id: str) -> tuple[Admission, list[dict[str, Any]]]:
        """Ask the store to start a queued run; with WAIT, the runs holding the slots."""
        store = self.store()
        run = store.get_run(run_id, with_steps=False)
        if run["status"] != RunStatus.QUEUED:
            return Admission.DROP, []
        limit = self._concurrency(run["notebook"])
        refused = store.admit(run_id, limit)
        if refused is None:
            return Admission.ADMITTED, []
        if refused != RunStatus.QUEUED:
            return Admission.DROP, []
        if store.orphans():  # a slot held by a process that is gone is free
            store.reap_orphans()
        return Admission.WAIT, store.queued_ahead(run["workflow"])

    def _concurrency(self, notebook: str) -> int:
        """The workflow's ``concurrency`` as its notebook says now (cached per file version)."""
        path = Path(notebook)
        try:
            key = (notebook, path.stat().st_mtime_ns)
        except OSError:
            return 1
        if key not in self._limits:
            workflow = Workflow.load(path)
            self._limits[key] = (workflow.config.values.get("concurrency") or 1, not workflow.problems)
        return self._limits[key][0]

    # executing -----------------------------------------------------------------

    def execute(self, run_id: str) -> RunStatus:
        """Execute an admitted (running) run to its end or its next gate, and record the outcome."""
        run = self.store().get_run(run_id)
        try:
            with local_copy(run["notebook"]) as path:
                return self._execute(run, path)
        except RemoteIOError as exc:
            return self.fail(run_id, exc, why="the notebook cannot be read any more")

    def _execute(self, run: dict[str, Any], notebook: Path) -> RunStatus:
        """Execute ``run`` from ``notebook``, a local file (the notebook itself, or a download of its URL)."""
        store, run_id = self.store(), run["id"]
        try:
            workflow, params = prepare(notebook, typed(run["params"]))
        except (WorkflowError, ParameterError) as exc:
            return self.fail(run_id, exc, why="the notebook is not runnable any more")
        try:
            collected = self.secrets.collect(run, workflow)
        except SecretsUnavailable as exc:
            return self.fail(run_id, exc, why="its secrets are not available")
        resuming = bool(run["resuming"])
        completed = completed_steps(run) if resuming else {}
        if resuming:
            store.update_run(run_id, resuming=0)
            # the steps that run again save their artifacts anew; those of completed steps stay
            files.remove(artifacts_dir(run["log_path"]), store.drop_artifacts(run_id, keep_steps=set(completed)))
            store.audit(run.get("started_by"), "run.resumed", f"run:{run_id}", {"completed": sorted(completed)})
        cancel = CancelSignal(self.cancel_grace)
        with self._lock:
            self._executing[run_id] = cancel
        self._watch_cancels()
        try:
            recorder = RunRecorder(store, run, workflow, self.progress, completed)
            request = build_request(run, workflow, params, completed=completed, log_output=self.log_output,
                                    decisions=store.run_decisions(run_id) if resuming else {}, collected=collected)
            outcome = get_backend(self.backend).execute(request, recorder, cancel)
        except BaseException as exc:  # a recorded run always ends with a final status, or its watchers wait forever
            self.fail(run_id, exc)
            if not isinstance(exc, Exception):
                raise
            return RunStatus.FAILED
        finally:
            with self._lock:
                self._executing.pop(run_id, None)
        return self._finish(run, workflow, outcome)

    def _finish(self, run: dict[str, Any], workflow: Workflow, outcome: RunOutcome) -> RunStatus:
        store = self.store()
        run_id = run["id"]
        with store.transaction():
            store.finish_run(run_id, outcome.status, error=outcome.error, result=outcome.result,
                             outputs=outcome.outputs or None, worker=outcome.worker)
            finished = store.get_run(run_id, with_steps=False)
            for hook in self.hooks:
                hook.on_recorded(store, finished)
        if outcome.status.final:
            self.secrets.forget(run_id)
        if outcome.status == RunStatus.SUCCEEDED:
            self._remove_journal(run["log_path"])
        if outcome.status in (RunStatus.SUCCEEDED, RunStatus.FAILED):
            for request in outcome.handler_requests:
                self._start_handler(workflow, run, request)
        for hook in self.hooks:
            try:
                hook.on_finished(self, finished)
            except Exception:
                log.exception("run %s: a lifecycle hook failed", run_id)
        if outcome.status == RunStatus.WAITING and run_id in store.decided_waiting_runs():
            self._resume_quietly(run_id, "its approval was decided while it was suspending")
        return outcome.status

    @staticmethod
    def _remove_journal(log_path: str) -> None:
        """A succeeded run's journal is not needed any more; failing to remove it is not the run's failure."""
        try:
            remove_tree(journal_dir(log_path))
        except OSError as exc:
            log.warning("cannot remove the journal %s: %s", journal_dir(log_path), exc)

    def _start_handler(self, workflow: Workflow, run: dict[str, Any], request: HandlerRequest) -> None:
        """A ``handler.ipynb`` named by ``--on-error``/``on_error``: its own run, linked to this one."""
        path = (workflow.path.resolve().parent / request.handler).resolve()
        offered = {"error": request.error, "run_id": run["id"], "workflow": workflow.name, "step": request.step}
        try:
            handler = Workflow.load(path)
            handler.raise_for_problems()
            declared = {p.name for p in handler.parameters}
            self.submit(handler, typed({k: v for k, v in offered.items() if k in declared}), trigger="handler",
                        started_by=run.get("started_by") or "jetnb",
                        detail={"parent_run": run["id"], "on": request.on, "step": request.step})
        except (WorkflowError, ParameterError) as exc:
            log.warning("handler notebook %s for run %s cannot run: %s", path, run["id"], exc)

    def fail(self, run_id: str, exc: BaseException, *, why: str | None = None) -> RunStatus:
        """The one way a run is marked failed for a reason outside its notebook's code (jetnb's own failure)."""
        if isinstance(exc, KeyboardInterrupt):
            status, error = RunStatus.INTERRUPTED, {"type": "KeyboardInterrupt", "message": "the run was interrupted"}
        elif isinstance(exc, OSError):  # a disk that is full or read-only: one line says it all
            where = f": {exc.filename}" if exc.filename else ""
            status, error = RunStatus.FAILED, {"type": type(exc).__name__, "message": f"{exc.strerror or exc}{where}"}
        else:
            message = str(exc) if why is None else f"{why}: {exc}"
            error = {"type": type(exc).__name__, "message": message}
            if not isinstance(exc, (WorkflowError, ParameterError, RemoteIOError, SecretsUnavailable)):
                error["traceback"] = "".join(traceback.format_exception(exc))
            status = RunStatus.FAILED
        self.store().finish_run(run_id, status, error=error)
        self.secrets.forget(run_id)
        return status

    # approvals and resuming ---------------------------------------------------------

    def decide(self, approval_id: int, by: Principal, approve: bool, comment: str | None = None, *,
               resume: bool = True) -> dict[str, Any]:
        """Record a decision as ``by`` (ApprovalError when not allowed) and, with ``resume``, continue its run here."""
        store = self.store()
        decided = store.decide(approval_id, by.name, approve, comment, groups=by.groups)
        if resume and decided["run_id"] in store.decided_waiting_runs():
            self._resume_quietly(decided["run_id"], f"request {approval_id} was {decided['status']} by {by.name}")
        return decided

    def resume(self, ref: str, *, by: str, secrets: dict[str, Any] | None = None) -> str:
        """Continue a waiting, failed or interrupted run from the step where it stopped, in the same record and log.

        ``secrets``: values for the run's Secret parameters, which are never
        stored; needed when this process does not hold them (another
        process recorded the run, or the run has ended since).
        """
        store = self.store()
        store.expire_due()
        run = store.get_run(ref)
        run_id = run["id"]
        if run["status"] not in RESUMABLE:
            raise ResumeError(f"run {run_id} is {run['status']}; only {', '.join(map(str, RESUMABLE))} runs "
                              "can be resumed")
        pending = [a for a in store.run_approvals(run_id) if a["status"] == "pending"]
        if pending:
            raise ResumeError(f"run {run_id} is still waiting for approval request {pending[0]['id']} "
                              f"({pending[0]['step']}, approvers: {', '.join(pending[0]['approvers'])})")
        try:
            with local_copy(run["notebook"]) as notebook:
                workflow, _ = prepare(notebook, typed(run["params"]))  # a notebook that no longer runs is refused first
        except RemoteIOError as exc:
            raise ResumeError(str(exc)) from None
        try:
            self.secrets.give_again(run, workflow, secrets or {})
        except ParameterError as exc:
            raise ResumeError(f"run {run_id}: " + "; ".join(exc.problems)) from None
        missing = self.secrets.missing(run, workflow)
        if missing:
            raise ResumeError(not_kept(run_id, missing))
        if not store.requeue_for_resume(run_id, RESUMABLE, durable=self.strategy.durable):
            raise ResumeError(f"run {run_id} was resumed by someone else meanwhile")
        store.audit(by, "run.resume", f"run:{run_id}", {"was": run["status"]})
        self.strategy.submit(run_id)
        return run_id

    def _resume_quietly(self, run_id: str, why: str) -> None:
        """Resume a decided run; one that someone else resumed first, or that cannot run any more, is left alone."""
        try:
            self.resume(run_id, by="jetnb")
            log.info("run %s resumed: %s", run_id, why)
        except (ResumeError, WorkflowError, ParameterError) as exc:
            log.info("run %s not resumed here: %s", run_id, exc)

    def resume_decided(self) -> list[str]:
        """Resume every waiting run whose gates were all decided (anywhere); returns their ids."""
        store = self.store()
        store.expire_due()
        resumed = []
        for run_id in store.decided_waiting_runs():
            try:
                resumed.append(self.resume(run_id, by="jetnb"))
            except (ResumeError, WorkflowError, ParameterError) as exc:
                log.debug("run %s not resumed: %s", run_id, exc)
        return resumed

    # cancelling ---------------------------------------------------------------------

    def cancel(self, ref: str, *, by: str, reason: str | None = None) -> dict[str, Any]:
        """Cancel a queued or waiting run at once; a running one is interrupted, then shut down after the grace period.

        Raises RunStateError for a run that has already ended.
        """
        store = self.store()
        run_id = store.resolve_id(ref)
        was = store.request_cancel(run_id, by, reason)
        if was != RunStatus.RUNNING:  # it has ended now; a running one ends through _finish
            self.secrets.forget(run_id)
        if was == RunStatus.QUEUED:
            self.strategy.discard(run_id)
        elif was == RunStatus.RUNNING:
            self._signal(run_id, StopKind.CANCEL, f"cancelled by {by}" + (f": {reason}" if reason else ""))
        return store.get_run(run_id)

    def interrupt(self, run_id: str, reason: str) -> None:
        """Stop a run this process is executing because the process is stopping (it ends ``interrupted``)."""
        self._signal(run_id, StopKind.INTERRUPT, reason)

    def interrupt_all(self, reason: str) -> None:
        """Stop every run this process is executing (Ctrl-C at a terminal)."""
        with self._lock:
            running = list(self._executing)
        for run_id in running:
            self.interrupt(run_id, reason)

    def _signal(self, run_id: str, kind: StopKind, reason: str) -> None:
        with self._lock:
            signal = self._executing.get(run_id)
        if signal is not None:
            signal.set(kind, reason)

    def _watch_cancels(self) -> None:
        """Start (once) the thread that passes on cancel requests made by other processes through the store."""
        with self._lock:
            if self._watcher is not None:
                return
            self._watcher = threading.Thread(target=self._poll_cancels, name="jetnb-cancel-requests", daemon=True)
        self._watcher.start()

    def _poll_cancels(self) -> None:
        try:
            while not self.stopping.wait(CANCEL_POLL):
                with self._lock:
                    running = list(self._executing)
                if not running:
                    continue
                for run_id, request in self.store().cancel_requests(running).items():
                    by, why = request["by"] or "someone", request["reason"]
                    self._signal(run_id, StopKind.CANCEL, f"cancelled by {by}" + (f": {why}" if why else ""))
        finally:
            self.db.release()

    # housekeeping ----------------------------------------------------------------

    def recover(self) -> int:
        """Runs left running (or queued, not durable) by a process that is gone become interrupted; returns how many."""
        return self.store().reap_orphans()

    def close(self) -> None:
        """Stop watching for cancels; commit what callers were promised."""
        self.stopping.set()
        if self._commits is not None:
            self._commits.close()


__all__ = ["RunService", "ResumeError", "RunHook", "RunStateError"]
