"""What an execution needs, assembled from the store and the notebook: the validated workflow and parameters,
the notebook content (a resumed run's with its completed steps' outputs), the run context for the kernel, its
secret values and its environment."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import location
from ..executor import RunRequest
from ..model.params import coerce_params
from ..model.workflow import Workflow
from ..protocol import RunContext, StepStatus
from ..artifact_rules import WORKFLOW_KEY, max_bytes
from ..runfiles import artifacts_dir, journal_dir
from ..secrets.environment import kernel_environment
from .options import RunOptions
from .run_secrets import Collected, secret_parameters


def prepare(notebook: str | Path, params: dict[str, Any] | None = None) -> tuple[Workflow, dict[str, Any]]:
    """Load the workflow and check parameters; raises WorkflowError or ParameterError before anything is recorded."""
    workflow = Workflow.load(notebook)
    workflow.raise_for_problems()
    return workflow, coerce_params(workflow.parameters, params or {})


def completed_steps(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Steps whose effect a resumed run restores instead of re-running."""
    done = (StepStatus.SUCCEEDED, StepStatus.SKIPPED, StepStatus.REJECTED)
    return {s["name"]: s for s in run["steps"] if s["kind"] in ("step", "result") and (
        s["status"] in done or (s["status"] == StepStatus.FAILED and (s.get("detail") or {}).get("continued")))}


def notebook_content(workflow: Workflow, log_path: str, completed: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The notebook as it is now; completed steps carry their outputs over from the run log (resuming)."""
    notebook = json.loads(workflow.path.read_text(encoding="utf-8"))
    if not completed:
        return notebook
    old = json.loads(location.read_text(log_path)) if location.is_file(log_path) else {"cells": []}
    old_cells = {((c.get("metadata") or {}).get("jetnb") or {}).get("step"): c for c in old["cells"]
                 if c.get("cell_type") == "code"}
    for cell, model in zip(notebook["cells"], workflow.cells):
        if model.role in ("step", "result") and model.step_name in completed:
            previous = old_cells.get(model.step_name)
            meta = cell.setdefault("metadata", {})
            if previous is not None:
                cell["outputs"], cell["execution_count"] = previous.get("outputs", []), previous.get("execution_count")
                meta["jetnb"] = dict((previous.get("metadata") or {}).get("jetnb") or {})
            meta.setdefault("jetnb", {})["restored"] = True
    return notebook


def build_request(run: dict[str, Any], workflow: Workflow, params: dict[str, Any], *,
                  completed: dict[str, dict[str, Any]], decisions: dict[str, Any], collected: Collected,
                  log_output: bool = False) -> RunRequest:
    """``params`` as stored (``***`` for Secret parameters): the kernel's context shows them so; papermill gets
    every other one, and the Secret values travel in ``collected.secrets``.

    ``run["options"]`` (``RunOptions``) may move the kernel's folder and choose its kernel and time limits;
    ``log_output`` streams the notebook's outputs to this process's log (``jetnb run --log-output``)."""
    options = RunOptions.from_dict(run.get("options"))
    cwd = options.cwd or str(workflow.path.resolve().parent)
    context = RunContext(run_id=run["id"], workflow=workflow.name, headless=True, trigger=run["trigger"],
                         params=params, started_by=run.get("started_by"), decisions=decisions,
                         journal_dir=journal_dir(run["log_path"]), cwd=cwd, withheld_env=collected.withheld,
                         artifacts_dir=artifacts_dir(run["log_path"]),
                         artifacts_max_bytes=max_bytes(workflow.config.values.get(WORKFLOW_KEY)))
    secret = set(secret_parameters(workflow))
    return RunRequest(run_id=run["id"], notebook=notebook_content(workflow, run["log_path"], completed),
                      notebook_path=str(workflow.path.resolve()), log_path=run["log_path"],
                      params={k: v for k, v in params.items() if k not in secret},
                      kernel_name=options.kernel or workflow.kernel_name or "python3", cwd=cwd, context=context,
                      timeout=options.execution_timeout, start_timeout=options.start_timeout, log_output=log_output,
                      env=kernel_environment(collected.withheld), secrets=collected.secrets,
                      worker_lost_retries=workflow.config.values.get("retries_on_worker_lost") or 0)
