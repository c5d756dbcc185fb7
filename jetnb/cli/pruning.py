"""``jetnb prune``: remove ended runs as the workflows' ``retention:`` (or a default given here) says."""

from __future__ import annotations

import json
from pathlib import Path

import click

from .common import (EXIT_FAILED, json_option, keep_runs_option, open_store, retention_days_option, store_option,
                     whoami)


@click.command()
@click.option("--dry-run", is_flag=True, help="list what would be removed; remove nothing")
@click.option("-w", "--workflow", help="only this workflow's runs")
@keep_runs_option
@retention_days_option
@store_option
@json_option
def prune(dry_run: bool, workflow: str | None, keep_runs: int | None, retention_days: float | None,
          store_path: Path | None, as_json: bool) -> None:
    """Remove ended runs that their workflow's retention: lets go: store rows, run logs, journals and run folders.

    Queued, running and waiting runs are never removed. Each prune that
    removes something is written to the audit log with its counts and who.
    """
    from ..clock import now
    from ..render import prune_table
    from ..service.retention import default_policy, prune as prune_runs

    store = open_store(store_path)
    store.reap_orphans()  # a run whose process is gone is interrupted, hence ended, before anything is chosen
    report = prune_runs(store, now=now(), by=whoami(store).name, default=default_policy(keep_runs, retention_days),
                        workflow=workflow, dry_run=dry_run)
    result = report.to_dict()
    if as_json:
        click.echo(json.dumps(result, indent=2))
    elif not report.runs:
        click.echo("nothing to prune" + ("" if workflow or keep_runs is not None or retention_days is not None else
                                         " (workflows without retention: keep every run; see --keep-runs)"))
    else:
        click.echo(prune_table(result["runs"]))
        click.echo(f"would remove {len(report.runs)} run(s)" if dry_run else
                   f"removed {len(report.removed)} run(s) and {report.files} file(s) and folder(s)")
    for problem in report.problems:
        click.echo(f"jetnb: {problem}", err=True)
    if report.problems:
        raise SystemExit(EXIT_FAILED)
