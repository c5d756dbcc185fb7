"""Starting a run: validate the trigger's values, record the run, execute it, record how it ended.

This is the Python API behind ``jetnb run`` (and later every other trigger):
nothing is recorded until the notebook and parameters are known to be good,
and once recorded a run always ends with a final status and a saved log.
"""

from __future__ import annotations

import getpass
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from ..executor import RunRequest, get_backend
from ..model.params import ParameterError, coerce_params
from .recorder import Progress, RunRecorder
from ..store import Store, new_run_id, public_run
from ..model.workflow import Workflow, WorkflowError

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


def enqueue(store: Store, workflow: Workflow, params: dict[str, Any], *, runs_dir: str | Path, trigger: str,
            trigger_detail: dict[str, Any] | None = None, rerun_of: str | None = None,
            started_by: str | None = None) -> str:
    """Record an already validated run as ``queued`` and return its id; callers may join it to a wider transaction.

    Once this returns (outside a transaction) the run is in the store: a server
    may acknowledge it, and ``execute_queued`` runs it later, in this process or
    the next one.
    """
    run_id = new_run_id()
    log_path = Path(runs_dir).resolve() / workflow.name / f"{run_id}.ipynb"
    store.create_run(workflow=workflow.name, notebook=str(workflow.path.resolve()), params=params, trigger=trigger,
                     trigger_detail=trigger_detail, rerun_of=rerun_of, status="queued", log_path=str(log_path),
                     run_id=run_id, started_by=started_by or getpass.getuser())
    return run_id


def execute(store: Store, workflow: Workflow, params: dict[str, Any], *, runs_dir: str | Path, trigger: str,
            trigger_detail: dict[str, Any] | None, rerun_of: str | None, progress: Progress | None,
            backend: str, started_by: str | None = None) -> str:
    """Record and execute an already validated run now; returns its id."""
    run_id = enqueue(store, workflow, params, runs_dir=runs_dir, trigger=trigger, trigger_detail=trigger_detail,
                     rerun_of=rerun_of, started_by=started_by)
    return drive(store, run_id, workflow, params, progress=progress, backend=backend)


def execute_queued(store: Store, run_id: str, *, progress: Progress | None = None, backend: str = "local") -> str:
    """Execute a queued run against its notebook as it is now; a notebook that became invalid fails the run."""
    run = store.get_run(run_id, with_steps=False)
    try:
        workflow, params = prepare(run["notebook"], run["params"])
    except (WorkflowError, ParameterError) as exc:
        store.update_run(run_id, status="failed", finished_at=time.time(),
                         error={"type": type(exc).__name__, "message": str(exc)})
        return run_id
    return drive(store, run_id, workflow, params, progress=progress, backend=backend)


class ResumeError(ValueError):
    """A run that cannot be resumed now; the message says why and what to do."""


RESUMABLE = ("waiting", "failed", "interrupted")


def completed_steps(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Steps whose effect a resumed run restores instead of re-running."""
    return {s["name"]: s for s in run["steps"] if s["kind"] in ("step", "result") and (
        s["status"] in ("succeeded", "skipped", "rejected")
        or (s["status"] == "failed" and (s.get("detail") or {}).get("continued")))}


def resume(store: Store, ref: str, *, progress: Progress | None = None, backend: str = "local") -> str:
    """Continue a waiting, failed or interrupted run from the step where it stopped, in the same record and log."""
    run = store.get_run(ref)
    if run["status"] not in RESUMABLE:
        raise ResumeError(f"run {run['id']} is {run['status']}; only {', '.join(RESUMABLE)} runs can be resumed")
    pending = [a for a in store.list_approvals(pending_only=True) if a["run_id"] == run["id"]]
    if pending:
        request = pending[0]
        raise ResumeError(f"run {run['id']} is still waiting for approval request {request['id']} "
                          f"({request['step']}, approvers: {', '.join(request['approvers'])})")
    workflow, params = prepare(run["notebook"], run["params"])
    completed = completed_steps(run)
    notebook = restored_notebook(workflow, run["log_path"], completed)
    store.update_run(run["id"], status="queued", error=None, finished_at=None)
    store.audit(getpass.getuser(), "run.resumed", f"run:{run['id']}", {"completed": sorted(completed)})
    return drive(store, run["id"], workflow, params, progress=progress, backend=backend, notebook_node=notebook,
                 completed=completed, decisions=store.run_decisions(run["id"]))


def restored_notebook(workflow: Workflow, log_path: str, completed: dict[str, dict[str, Any]]) -> Any:
    """The notebook as it is now, with the outputs of completed steps carried over from the run log."""
    from ..executor.fastimport import skip_unused_grammar

    skip_unused_grammar()
    import nbformat

    notebook = nbformat.read(str(workflow.path), as_version=4)
    old = nbformat.read(log_path, as_version=4) if Path(log_path).exists() else nbformat.v4.new_notebook()
    old_cells = {(c.metadata.get("jetnb") or {}).get("step"): c for c in old.cells if c.cell_type == "code"}
    for cell, model in zip(notebook.cells, workflow.cells):
        if model.role in ("step", "result") and model.step_name in completed:
            previous = old_cells.get(model.step_name)
            if previous is not None:
                cell.outputs, cell.execution_count = previous.outputs, previous.execution_count
                cell.metadata["jetnb"] = dict(previous.metadata.get("jetnb") or {})
            cell.metadata.setdefault("jetnb", {})["restored"] = True
    return notebook


def drive(store: Store, run_id: str, workflow: Workflow, params: dict[str, Any], *, progress: Progress | None,
          backend: str, notebook_node: Any = None, completed: dict[str, dict[str, Any]] | None = None,
          decisions: dict[str, Any] | None = None) -> str:
    """Execute a recorded run (new or resumed) to its end or its next approval gate, and record the outcome."""
    run = store.get_run(run_id, with_steps=False)
    log_path = Path(run["log_path"])
    journal = log_path.with_suffix(".journal")
    recorder = RunRecorder(store, run, workflow, progress, completed)
    started = run.get("started_at") or time.time()
    store.update_run(run_id, status="running", started_at=started, pid=os.getpid())
    request = RunRequest(
        run_id=run_id, notebook=run["notebook"], log_path=str(log_path), params=params,
        kernel_name=workflow.kernel_name or "python3", cwd=str(workflow.path.resolve().parent),
        run_context={"run_id": run_id, "workflow": workflow.name, "headless": True, "trigger": run["trigger"],
                     "params": params, "notebook": run["notebook"], "journal_dir": str(journal),
                     "decisions": decisions or {}, "started_by": run.get("started_by"),
                     "cwd": str(workflow.path.resolve().parent)},
        observer=recorder, notebook_node=notebook_node,
    )
    try:
        outcome = get_backend(backend).execute(request)
    finally:
        if recorder.approval is None:
            recorder.close_unreached()
    finished = time.time()
    store.update_run(run_id, status=outcome.status, finished_at=None if outcome.status == "waiting" else finished,
                     duration=round(finished - started, 6), error=outcome.error,
                     result=recorder.result if recorder.result is not None else outcome.result)
    if outcome.status == "succeeded":
        shutil.rmtree(journal, ignore_errors=True)
    if outcome.status in ("succeeded", "failed"):
        for handler in recorder.handler_requests:
            _run_notebook_handler(store, workflow, run_id, handler, runs_dir=log_path.parent.parent, backend=backend)
    return run_id


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
