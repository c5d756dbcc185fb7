"""The default backend: papermill with the jetnb engine, in this process, one fresh kernel per run."""

from __future__ import annotations

from typing import Any

from . import RunOutcome, RunRequest
from .fastimport import skip_unused_grammar
from .notebook_io import save_notebook


class LocalBackend:
    name = "local"

    def execute(self, request: RunRequest) -> RunOutcome:
        return self._execute(request)

    def _execute(self, request: RunRequest, **engine_kwargs: Any) -> RunOutcome:
        """Run through papermill; ``engine_kwargs`` reach the notebook client (e.g. a started ``km``)."""
        skip_unused_grammar()
        import papermill
        from papermill.exceptions import PapermillExecutionError

        outcome = RunOutcome("succeeded")
        source = request.notebook_node if request.notebook_node is not None else request.notebook
        try:
            papermill.execute_notebook(
                source,
                None,  # papermill's own final write is not atomic; the engine and _finish_log write the log
                parameters=request.params,
                engine_name="jetnb",
                kernel_name=request.kernel_name,
                # the kernel's folder, not the process's: papermill's cwd= would chdir the whole process
                resources={"metadata": {"path": request.cwd}} if request.cwd else {},
                progress_bar=False,
                execution_timeout=request.timeout,
                observer=request.observer,
                run_context=request.run_context,
                log_path=request.log_path,
                **engine_kwargs,
            )
        except PapermillExecutionError as exc:
            outcome = RunOutcome("failed", {
                "type": exc.ename, "message": exc.evalue, "traceback": "\n".join(exc.traceback)})
        except KeyboardInterrupt:
            outcome = RunOutcome("interrupted", {"type": "KeyboardInterrupt", "message": "the run was interrupted"})
        except Exception as exc:  # kernel died, could not start, bad notebook...
            outcome = RunOutcome("failed", {"type": type(exc).__name__, "message": str(exc)})
        finally:
            self._finish_log(request, outcome)
        return outcome

    @staticmethod
    def _finish_log(request: RunRequest, outcome: RunOutcome) -> None:
        nb: Any = getattr(request.observer, "nb", None)
        if nb is None:
            return
        meta = nb.metadata.setdefault("jetnb", {})
        if outcome.error is not None and meta.get("failed_step"):
            outcome.error = {**outcome.error, **meta["failed_step"]}  # the step's own account reads better
        if outcome.status == "succeeded" and meta.get("waiting_for"):
            outcome.status = "waiting"
        meta.update(status=outcome.status, error=outcome.error)
        outcome.result = meta.get("result")
        save_notebook(nb, request.log_path)
