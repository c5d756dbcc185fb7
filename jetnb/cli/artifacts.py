"""``jetnb artifacts RUN [NAME]``: list a run's artifacts, or download one."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .common import fail, json_option, open_store, store_option


@click.command()
@click.argument("run_id")
@click.argument("name", required=False)
@click.option("-o", "--output", type=click.Path(), default=None,
              help="where to save NAME: a file, or a folder (existing, or ending in /) to save it in; '-' writes it "
                   "to stdout "
                   "[default: NAME in the current folder]")
@store_option
@json_option
def artifacts(run_id: str, name: str | None, output: str | None, store_path: Path | None, as_json: bool) -> None:
    """List the files run RUN_ID kept with jetnb.artifact, or save the one called NAME."""
    from .. import artifact_files as files
    from ..render import artifacts_table
    from ..service.artifacts import ArtifactNotFound, find
    from ..store import RunNotFound, public_run

    store = open_store(store_path)
    try:
        if name is None:
            run = public_run(store.get_run(run_id))
            if as_json:
                click.echo(json.dumps(run["artifacts"], indent=2))
            else:
                click.echo(artifacts_table(run["artifacts"]) if run["artifacts"]
                           else f"run {run['id']} has no artifacts")
            return
        found = find(store, run_id, name)
    except (RunNotFound, ArtifactNotFound) as exc:
        fail(str(exc))
    if output == "-":
        for chunk in files.read_chunks(found.directory, found.name):
            sys.stdout.buffer.write(chunk)
        sys.stdout.buffer.flush()
        return
    target = Path(output or found.name)
    if target.is_dir() or (output or "").endswith(("/", "\\")):
        target = target / found.name
    size = files.save_to(found.directory, found.name, target)
    if as_json:
        click.echo(json.dumps({**found.artifact, "run_id": found.run_id, "saved_to": str(target)}, default=str))
    else:
        click.echo(f"saved {found.name} ({size} bytes) to {target}")
