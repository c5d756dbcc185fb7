"""Where a run's files live, all derived from its run log's path: ``runs/<workflow>/<run-id>.ipynb`` (the run log),
``<run-id>.journal/`` (what completed steps changed, for resuming) and ``<run-id>/`` (the run's own folder:
``artifacts/``...). One place, so the run service, the engine, the pages and pruning agree. The log path may be a
local path or an fsspec URL; read and write these through ``jetnb.location``."""

from __future__ import annotations

LOG_SUFFIX = ".ipynb"


def _stem(log_path: str) -> str:
    return log_path[: -len(LOG_SUFFIX)] if log_path.endswith(LOG_SUFFIX) else log_path


def journal_dir(log_path: str) -> str:
    return _stem(log_path) + ".journal"


def run_folder(log_path: str) -> str:
    return _stem(log_path)


def artifacts_dir(log_path: str) -> str:
    return run_folder(log_path) + "/artifacts"
