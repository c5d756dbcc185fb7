"""Reading runs for callers, the same way wherever they ask (the REST API, JupyterLab's sidebar): a page of runs
from query text, and a run's log file."""

from __future__ import annotations

from typing import Any

from .. import location
from ..protocol import RUN_STATUSES
from ..store import RunNotFound, Store

MAX_PAGE = 500


class BadQuery(ValueError):
    """A query parameter that cannot be used; the message names it and is the 400's reason."""


class NoRunLog(LookupError):
    """The run has no run log (yet); the 404's reason."""


def runs_page(store: Store, *, workflow: str | None, status: str | None, trigger: str | None = None,
              limit: str = "50", before: str | None = None) -> tuple[list[dict[str, Any]], str | None]:
    """Runs newest first after the run ``before`` (keyset paging), and the id to ask the next page from, if any."""
    if status and status not in RUN_STATUSES:
        raise BadQuery(f"status: expected one of {', '.join(RUN_STATUSES)}")
    try:
        count = int(limit)
    except ValueError:
        raise BadQuery("limit: expected a whole number") from None
    if not 1 <= count <= MAX_PAGE:
        raise BadQuery(f"limit: expected 1 to {MAX_PAGE}")
    cursor = None
    if before:
        try:
            last = store.get_run(before, with_steps=False)
        except RunNotFound as exc:
            raise BadQuery(f"before: {exc}") from None
        cursor = (last["created_at"], last["id"])
    runs = store.list_runs(workflow=workflow, status=status, trigger=trigger, limit=count, before=cursor)
    return runs, runs[-1]["id"] if len(runs) == count else None


def run_log(run: dict[str, Any]) -> bytes:
    """The run log of a run read from the store, from a folder or an fsspec URL; NoRunLog while there is none."""
    if not run["log_path"] or not location.is_file(run["log_path"]):
        raise NoRunLog(f"run {run['id']} has no run log yet (status {run['status']})")
    return location.read_bytes(run["log_path"])
