"""``jetnb check``, ``graph`` and ``new``: writing workflows, before anything runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from .common import EXIT_FAILED, fail, json_option


@click.command()
@click.argument("notebooks", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
def check(notebooks: tuple[Path, ...], as_json: bool) -> None:
    """Validate workflow notebooks without running them; every problem names its file and cell."""
    from ..model.check import check_notebook

    reports = [check_notebook(path) for path in notebooks]
    problems = [p for report in reports for p in report.problems]
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2))
    else:
        for report in reports:
            for problem in report.problems:
                click.echo(str(problem))
            if not report.problems:
                click.echo(f"{report.path}: ok ({report.summary})")
        if problems:
            click.echo(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} found", err=True)
    sys.exit(EXIT_FAILED if problems else 0)


@click.command()
@click.argument("notebook", type=click.Path(path_type=Path))
def graph(notebook: Path) -> None:
    """Print the workflow's flow as a Mermaid flowchart (JupyterLab and GitHub render it)."""
    from ..model.graph import mermaid
    from ..model.workflow import Workflow

    workflow = Workflow.load(notebook)
    if workflow.problems and not workflow.cells:
        fail("\n".join(str(p) for p in workflow.problems))
    click.echo(mermaid(workflow), nl=False)


@click.command()
@click.argument("name")
@click.option("-t", "--template", default="blank", show_default=True, help="blank, branching, ...")
@click.option("-d", "--dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="folder for the new notebook")
def new(name: str, template: str, directory: Path) -> None:
    """Create a workflow notebook NAME.ipynb from a template."""
    from .scaffold import create

    try:
        path = create(name, template, directory)
    except (ValueError, FileExistsError) as exc:
        fail(str(exc))
    click.echo(f"created {path}; run it with: jetnb run {path}")
