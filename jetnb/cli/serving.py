"""``jetnb serve``, ``schedules``, ``pause`` and ``unpause``: the server and its workflows' automatic triggers."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..executor.cancel import DEFAULT_GRACE
from .common import (backend_option, fail, open_backend_or_exit, json_option, keep_runs_option, open_store, retention_days_option,
                     runs_dir_option, store_option)


@click.command()
@click.argument("directory", default="notebooks", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on (loopback unless told)")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port")
@store_option
@runs_dir_option
@click.option("--max-runs", default=4, show_default=True, type=click.IntRange(1, 256),
              help="runs executing at once, all workflows together")
@click.option("--grace", default=30.0, show_default=True, type=click.FloatRange(0),
              help="seconds running runs get to finish on Ctrl-C / SIGTERM before they are interrupted")
@click.option("--cancel-grace", default=DEFAULT_GRACE, show_default=True, type=click.FloatRange(0),
              help="seconds a cancelled run's kernel gets after its interrupt before it is shut down")
@click.option("--public-url", metavar="URL", help="where people reach this server (behind a proxy), for the links in "
              "notifications; default the address it listens on")
@backend_option("forked")
@keep_runs_option
@retention_days_option
def serve(directory: Path, host: str, port: int, store_path: Path | None, runs_dir: Path, max_runs: int,
          grace: float, cancel_grace: float, public_url: str | None, backend: str, keep_runs: int | None,
          retention_days: float | None) -> None:
    """Serve the workflows under DIRECTORY: fire their triggers, take webhooks, answer the REST API.

    Ended runs are pruned at start and every hour as each workflow's
    retention: says (--keep-runs / --retention-days for those without one).
    """
    from ..server import ServeOptions, StoreInUse, serve as run_server
    from ..service.runs import RunsFolderError
    from ..store import default_store_path

    if not directory.is_dir():
        fail(f"no folder {directory} (give the folder that holds your workflow notebooks)")
    open_backend_or_exit(backend)
    options = ServeOptions(directory=directory, host=host, port=port, store_path=store_path or default_store_path(),
                           runs_dir=runs_dir, max_runs=max_runs, grace=grace, cancel_grace=cancel_grace,
                           backend=backend, keep_runs=keep_runs, retention_days=retention_days, public_url=public_url)
    try:
        run_server(options)
    except (StoreInUse, RunsFolderError, OSError) as exc:
        fail(str(exc))


@click.command()
@store_option
@json_option
def schedules(store_path: Path | None, as_json: bool) -> None:
    """List every time trigger the server registered, with its next fire time and last outcome."""
    from ..clock import clock_from_env
    from ..control.overview import time_triggers
    from ..render import schedules_table

    rows = time_triggers(open_store(store_path), clock_from_env().now())
    click.echo(json.dumps(rows, indent=2) if as_json else schedules_table(rows))


def _set_paused(workflow: str, store_path: Path | None, paused: bool, reason: str) -> None:
    from ..store import WorkflowNotFound
    from .common import whoami

    store = open_store(store_path)
    try:
        changed = store.set_paused(workflow, paused, reason)
    except WorkflowNotFound as exc:
        fail(str(exc))
    verb = "paused" if paused else "unpaused"
    if changed:
        store.audit(whoami(store).name, f"workflow.{'pause' if paused else 'unpause'}", f"workflow:{workflow}",
                    {"message": f"{workflow} {verb} from the command line: {reason}"})
    click.echo(f"{workflow} {verb}" if changed else f"{workflow} was already {verb}")


@click.command()
@click.argument("workflow")
@click.option("--reason", default="paused from the command line", show_default=True)
@store_option
def pause(workflow: str, reason: str, store_path: Path | None) -> None:
    """Pause a served workflow's automatic triggers (runs started by hand still run)."""
    _set_paused(workflow, store_path, True, reason)


@click.command()
@click.argument("workflow")
@store_option
def unpause(workflow: str, store_path: Path | None) -> None:
    """Unpause a paused workflow: its automatic triggers fire again and its failure count restarts at 0."""
    _set_paused(workflow, store_path, False, "unpaused from the command line")
