"""Starting a run: validate the trigger's values, record the run, execute it, record how it ended.

This is the Python API behind ``jetnb run`` (and later every other trigger):
nothing is recorded until the notebook and parameters are known to be good,
and once recorded a run always ends with a final status and a saved log.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from .executor import RunRequest, get_backend
from .params import ParameterError, coerce_params
from .recorder import Progress, RunRecorder
from .store import Store, new_run_id, public_run
from .workflow import Workflow, WorkflowError

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


def enqueue(store: Store, workflow: Workflow, params: dict[str, Any], *, runs_dir: str | Path, trigger: str,
            trigger_detail: dict[str, Any] | None = None, rerun_of: str | None = None) -> str:
    """Record an already validated run as ``queued`` and return its id; callers may join it to a wider transaction.

    Once this returns (outside a transaction) the run is in the store: a server
    may acknowledge it, and ``execute_queued`` runs it later, in this process or
    the next one.
    """
    run_id = new_run_id()
    log_path = Path(runs_dir).resolve() / workflow.name / f"{run_id}.ipynb"
    store.create_run(workflow=workflow.name, notebook=str(workflow.path.resolve()), params=params, trigger=trigger,
                     trigger_detail=trigger_detail, rerun_of=rerun_of, status="queued", log_path=str(log_path),
                     run_id=run_id)
    return run_id


def execute(store: Store, workflow: Workflow, params: dict[str, Any], *, runs_dir: str | Path, trigger: str,
            trigger_detail: dict[str, Any] | None, rerun_of: str | None, progress: Progress | None,
            backend: str) -> str:
    """Record and execute an already validated run now; returns its id."""
    run_id = enqueue(store, workflow, params, runs_dir=runs_dir, trigger=trigger, trigger_detail=trigger_detail,
                     rerun_of=rerun_of)
    return _execute_recorded(store, run_id, workflow, progress, backend)


def execute_queued(store: Store, run_id: str, *, progress: Progress | None = None, backend: str = "local") -> str:
    """Execute a queued run against its notebook as it is now; a notebook that became invalid fails the run."""
    run = store.get_run(run_id, with_steps=False)
    try:
        workflow, _ = prepare(run["notebook"], run["params"])
    except (WorkflowError, ParameterError) as exc:
        store.update_run(run_id, status="failed", finished_at=time.time(),
                         error={"type": type(exc).__name__, "message": str(exc)})
        return run_id
    return _execute_recorded(store, run_id, workflow, progress, backend)


def _execute_recorded(store: Store, run_id: str, workflow: Workflow, progress: Progress | None, backend: str) -> str:
    run = store.get_run(run_id, with_steps=False)
    recorder = RunRecorder(store, run_id, workflow, progress)
    started = time.time()
    store.update_run(run_id, status="running", started_at=started, pid=os.getpid())
    request = RunRequest(
        run_id=run_id, notebook=run["notebook"], log_path=run["log_path"], params=run["params"],
        kernel_name=workflow.kernel_name or "python3", cwd=str(workflow.path.resolve().parent),
        run_context={"run_id": run_id, "workflow": workflow.name, "headless": True, "trigger": run["trigger"],
                     "params": run["params"]},
        observer=recorder, timeout=None,
    )
    try:
        outcome = get_backend(backend).execute(request)
    finally:
        recorder.close_unreached()
    error = outcome.error
    if error is not None and recorder.failed_step:
        error = {**error, **recorder.failed_step}  # the step's own account has the cleaner traceback
    finished = time.time()
    store.update_run(run_id, status=outcome.status, finished_at=finished, duration=round(finished - started, 6),
                     result=recorder.result if recorder.result is not None else outcome.result, error=error)
    return run_id
