"""The Python API: ``jetnb.run(notebook, params)`` runs a workflow here and now, as ``jetnb run`` does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .service.recorder import Progress
from .service.request import prepare
from .service.runs import RunService, current_user
from .service.strategies import Inline
from .store import Database, default_store_path, public_run


def run(notebook: str | Path, params: dict[str, Any] | None = None, *, store: str | Path | None = None,
        runs_dir: str | Path = "runs", trigger: str = "manual", progress: Progress | None = None,
        backend: str = "local", started_by: str | None = None) -> dict[str, Any]:
    """Run a workflow notebook to its end (or its first approval gate) and return its run record.

    The record is what ``jetnb show --json`` prints. Raises WorkflowError or
    ParameterError before anything is recorded.
    """
    workflow, values = prepare(notebook, params)
    db = Database(store or default_store_path())
    try:
        service = RunService(db, runs_dir=runs_dir, strategy=Inline(), backend=backend, progress=progress)
        run_id = service.submit(workflow, values, trigger=trigger, started_by=started_by or current_user())
        return public_run(service.store().get_run(run_id))
    finally:
        db.close()
