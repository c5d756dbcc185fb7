"""The default backend: papermill with the jetnb engine, in this process, one fresh kernel per run."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from ..protocol import RunOutcome, RunStatus
from ..secrets.masking import masker
from . import Observer, RunRequest, head_start
from .cancel import CancelSignal, StopKind
from .fastimport import one_importer, skip_unused_grammar
from .journal_mirror import JournalMirror
from .notebook_io import save_notebook
from .outcome import OutcomeBuilder


class LocalBackend:
    name = "local"

    def execute(self, request: RunRequest, observer: Observer, cancel: CancelSignal) -> RunOutcome:
        """On the kernel ``jetnb run`` started ahead (``head_start``) if it is the run's, else on a new one."""
        _import_papermill()  # while the kernel started ahead may still be starting
        km = head_start.take(request)
        if km is None:
            return self._execute(request, observer, cancel)
        try:
            return self._execute(request, observer, cancel, km=km)
        finally:
            head_start.end(km)

    def _execute(self, request: RunRequest, observer: Observer, cancel: CancelSignal,
                 **engine_kwargs: Any) -> RunOutcome:
        """Run with the request's secret values masked in everything written, whichever process this is."""
        values = request.secrets.values()
        masker.hold(values)
        journal = JournalMirror(request.context.journal_dir)  # a runs folder at a URL: the kernel's stays local
        if journal.shared:
            request = replace(request, context=replace(request.context, journal_dir=journal.local))
        try:
            return self._papermill(request, journal.observing(observer), cancel, **engine_kwargs)
        finally:
            masker.release(values)
            try:
                journal.push()
            finally:
                journal.close()

    def _papermill(self, request: RunRequest, observer: Observer, cancel: CancelSignal,
                   **engine_kwargs: Any) -> RunOutcome:
        """Run through papermill; ``engine_kwargs`` reach the notebook client (e.g. a started ``km``)."""
        _import_papermill()
        import nbformat
        from papermill.exceptions import PapermillExecutionError

        from .engine import RunStopped
        from .papermill_call import execute_node

        builder = OutcomeBuilder(observer)
        source = nbformat.v4.reads(json.dumps(request.notebook))  # lines joined, as nbclient expects; not re-validated
        status, error = RunStatus.SUCCEEDED, None
        try:
            execute_node(  # no output path: the engine and _finish_log write the log (atomically)
                source,
                request.params,
                kernel_name=request.kernel_name,
                input_path=request.notebook_path,
                # the kernel's folder, not the process's: papermill's cwd= would chdir the whole process
                resources={"metadata": {"path": request.cwd}},
                progress_bar=False,
                log_output=request.log_output,
                start_timeout=request.start_timeout or 60,
                execution_timeout=request.timeout,
                builder=builder,
                context=request.context,
                log_path=request.log_path,
                cancel=cancel,
                env=request.env,
                secrets=request.secrets,
                final_write=False,  # _finish_log writes the log once the outcome is known
                **engine_kwargs,
            )
        except RunStopped as exc:
            status, error = _stopped(exc.kind, str(exc))
        except PapermillExecutionError as exc:
            status, error = RunStatus.FAILED, {"type": exc.ename, "message": exc.evalue,
                                               "traceback": "\n".join(exc.traceback)}
        except KeyboardInterrupt:
            status, error = _stopped(StopKind.INTERRUPT, "the run was interrupted")
        except OSError as exc:  # the run log could not be written mid-run (a full or read-only disk)
            status, error = RunStatus.FAILED, {"type": type(exc).__name__,
                                               "message": f"the run log could not be saved: {exc.strerror or exc}"}
        except Exception as exc:  # kernel died, could not start, bad notebook...
            status, error = RunStatus.FAILED, {"type": type(exc).__name__, "message": str(exc)}
        if cancel.is_set() and status == RunStatus.FAILED:  # the interrupt or the kernel's shutdown ended it
            status, error = _stopped(cancel.kind or StopKind.CANCEL, cancel.reason)
        outcome = builder.finish(status, error)
        try:
            _finish_log(builder.nb if builder.nb is not None else source, request.log_path, builder, outcome)
        except OSError as exc:  # a full or read-only disk: the run ends failed, saying so in one line
            outcome.status = RunStatus.FAILED
            outcome.error = {"type": type(exc).__name__,
                             "message": f"the run log could not be saved: {exc.strerror or exc} ({request.log_path})"}
        return outcome


def _import_papermill() -> None:
    skip_unused_grammar()
    with one_importer():  # the head start's thread may still be importing papermill
        import nbformat  # noqa: F401
        import papermill  # noqa: F401  first: it registers its engines, this one too, which imports .engine

        from . import papermill_call  # noqa: F401


def _stopped(kind: StopKind, reason: str) -> tuple[RunStatus, dict[str, Any]]:
    if kind == StopKind.CANCEL:
        return RunStatus.CANCELLED, {"type": "Cancelled", "message": reason}
    return RunStatus.INTERRUPTED, {"type": "KeyboardInterrupt", "message": reason or "the run was interrupted"}


def _finish_log(nb: Any, log_path: str, builder: OutcomeBuilder, outcome: RunOutcome) -> None:
    """The run log's last save: how the run ended, in its metadata (the engine saved every cell already)."""
    meta = nb.metadata.setdefault("jetnb", {})
    meta.update(builder.metadata())
    meta.update(status=str(outcome.status), error=outcome.error)
    save_notebook(nb, log_path)
