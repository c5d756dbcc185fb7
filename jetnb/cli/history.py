"""``jetnb runs`` and ``show``: the run history. Runs whose process is gone are marked interrupted first."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..protocol import RUN_STATUSES
from .common import EXIT_FAILED, fail, json_option, open_store, store_option


@click.command()
@click.option("-w", "--workflow", help="only this workflow")
@click.option("-s", "--status", type=click.Choice(RUN_STATUSES), help="only runs with this status")
@click.option("-n", "--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@store_option
@json_option
def runs(workflow: str | None, status: str | None, limit: int, store_path: Path | None, as_json: bool) -> None:
    """List recent runs, newest first."""
    from ..render import paused_notes, runs_table
    from ..store import public_run

    store = open_store(store_path)
    store.reap_orphans()
    found = [public_run(r) for r in store.list_runs(workflow=workflow, status=status, limit=limit)]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    filtered = workflow or status
    click.echo(runs_table(found) if found or not filtered else "no runs match (try without --workflow/--status)")
    notes = paused_notes([s for s in store.workflow_states() if s["paused"] and (not workflow or s["name"] == workflow)])
    if notes:
        click.echo(notes)


@click.command()
@click.argument("run_id")
@store_option
@json_option
@click.option("--log", "print_log", is_flag=True, help="print the run log itself (the executed notebook's JSON), "
              "from wherever it is kept (a folder, s3://...)")
def show(run_id: str, store_path: Path | None, as_json: bool, print_log: bool) -> None:
    """Show one run: parameters, step timeline, actions, result, error and where its run log is."""
    from ..render import run_detail
    from ..store import RunNotFound, public_run

    store = open_store(store_path)
    store.reap_orphans()
    try:
        run = public_run(store.get_run(run_id))
    except RunNotFound as exc:
        fail(str(exc))
    if print_log:
        _print_log(run)
        return
    click.echo(json.dumps(run, indent=2) if as_json else run_detail(run))


def _print_log(run: dict) -> None:
    from .. import location

    try:
        text = location.read_text(run["log_path"]) if run["log_path"] else None
    except FileNotFoundError:
        text = None
    except OSError as exc:
        fail(f"cannot read the run log {run['log_path']}: {exc}", EXIT_FAILED)
    if text is None:
        fail(f"run {run['id']} has no run log yet (status {run['status']})", EXIT_FAILED)
    click.echo(text, nl=not text.endswith("\n"))
