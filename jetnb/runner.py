"""Starting a run: validate the trigger's values, record the run, execute it, record how it ended.

This is the Python API behind ``jetnb run`` (and later every other trigger):
nothing is recorded until the notebook and parameters are known to be good,
and once recorded a run always ends with a final status and a saved log.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from .executor import RunRequest, get_backend
from .params import ParameterError, coerce_params
from .recorder import Progress, RunRecorder
from .store import Store, public_run
from .workflow import Workflow, WorkflowError

log = logging.getLogger("jetnb")

DEFAULT_RUNS_DIR = "runs"


def prepare(notebook: str | Path, params: dict[str, Any] | None = None) -> tuple[Workflow, dict[str, Any]]:
    """Load the workflow and check parameters; raises WorkflowError or ParameterError before anything is recorded."""
    workflow = Workflow.load(notebook)
    workflow.raise_for_problems()
    return workflow, coerce_params(workflow.parameters, params or {})


def run(notebook: str | Path, params: dict[str, Any] | None = None, *, store: Store | str | Path | None = None,
        runs_dir: str | Path = DEFAULT_RUNS_DIR, trigger: str = "manual", trigger_detail: dict[str, Any] | None = None,
        rerun_of: str | None = None, progress: Progress | None = None, backend: str = "local") -> dict[str, Any]:
    """Run a workflow notebook to the end and return its run record (as ``jetnb show --json`` prints it)."""
    workflow, values = prepare(notebook, params)
    own_store = not isinstance(store, Store)
    db = store if isinstance(store, Store) else Store(store)
    try:
        run_id = execute(db, workflow, values, runs_dir=runs_dir, trigger=trigger, trigger_detail=trigger_detail,
                         rerun_of=rerun_of, progress=progress, backend=backend)
        return public_run(db.get_run(run_id))
    finally:
        if own_store:
            db.close()


def execute(store: Store, workflow: Workflow, params: dict[str, Any], *, runs_dir: str | Path, trigger: str,
            trigger_detail: dict[str, Any] | None, rerun_of: str | None, progress: Progress | None,
            backend: str) -> str:
    """Record and execute an already validated run; returns its id."""
    notebook = str(workflow.path.resolve())
    run_id = store.create_run(workflow=workflow.name, notebook=notebook, params=params, trigger=trigger,
                              trigger_detail=trigger_detail, rerun_of=rerun_of, status="queued")
    log_path = Path(runs_dir).resolve() / workflow.name / f"{run_id}.ipynb"
    recorder = RunRecorder(store, run_id, workflow, progress)
    started = time.time()
    store.update_run(run_id, status="running", started_at=started, log_path=str(log_path))
    request = RunRequest(
        run_id=run_id, notebook=notebook, log_path=str(log_path), params=params,
        kernel_name=workflow.kernel_name or "python3", cwd=str(workflow.path.resolve().parent),
        run_context={"run_id": run_id, "workflow": workflow.name, "headless": True, "trigger": trigger,
                     "params": params, "notebook": notebook},
        observer=recorder, timeout=None,
    )
    try:
        outcome = get_backend(backend).execute(request)
    finally:
        recorder.close_unreached()
    finished = time.time()
    store.update_run(run_id, status=outcome.status, finished_at=finished, duration=round(finished - started, 6),
                     result=recorder.result if recorder.result is not None else outcome.result, error=outcome.error)
    if outcome.status != "interrupted":
        for request in recorder.handler_requests:
            _run_notebook_handler(store, workflow, run_id, request, runs_dir=runs_dir, backend=backend)
    return run_id


HANDLER_PARAMS = ("error", "run_id", "workflow", "step")


def _run_notebook_handler(store: Store, workflow: Workflow, run_id: str, request: dict[str, Any], *,
                          runs_dir: str | Path, backend: str) -> None:
    """A ``handler.ipynb`` named by ``--on-error``/``on_error``: its own run, linked to this one by trigger_detail."""
    path = (workflow.path.resolve().parent / request["handler"]).resolve()
    offered = {"error": request.get("error"), "run_id": run_id, "workflow": workflow.name, "step": request.get("step")}
    try:
        handler = Workflow.load(path)
        handler.raise_for_problems()
        declared = {p.name for p in handler.parameters}
        params = coerce_params(handler.parameters, {k: v for k, v in offered.items() if k in declared})
    except (WorkflowError, ParameterError) as exc:
        log.warning("handler notebook %s for run %s cannot run: %s", path, run_id, exc)
        return
    execute(store, handler, params, runs_dir=runs_dir, trigger="handler",
            trigger_detail={"parent_run": run_id, "on": request.get("on"), "step": request.get("step")},
            rerun_of=None, progress=None, backend=backend)
