"""``jetnb run``, ``rerun``, ``resume`` and ``cancel``: the run service driven from a terminal."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from .common import (EXIT_INTERRUPTED, backend_option, fail, inline_service, json_option, quiet_option, report,
                     runs_dir_option, store_option, whoami)


def _load_param_file(path: Path) -> dict[str, Any]:
    """The ``-f`` file's values, marked typed so that a quoted ``"3"`` stays text (``model.params``)."""
    from ..model.params import ParameterError, load_params_file, typed

    try:
        return typed(load_params_file(path))
    except ParameterError as exc:
        fail("\n".join(exc.problems))


def _start(notebook: Path, params: dict[str, Any], *, store_path: Path | None, runs_dir: Path, backend: str,
           as_json: bool, quiet: bool, user: str | None, trigger: str = "manual",
           rerun_of: str | None = None) -> None:
    from ..model.params import ParameterError
    from ..model.workflow import WorkflowError
    from ..service.request import prepare
    from ..service.runs import RunsFolderError
    try:
        workflow, values = prepare(notebook, params)
    except WorkflowError as exc:
        fail(f"{notebook} is not a runnable workflow:\n" + "\n".join(f"  {p}" for p in exc.problems))
    except ParameterError as exc:
        fail(f"{notebook}: bad parameters:\n" + "\n".join(f"  {p}" for p in exc.problems))
    service = inline_service(store_path, runs_dir, backend=backend, quiet=quiet)
    principal = whoami(service.store(), user)
    if not quiet:
        click.echo(f"jetnb: running {workflow.name} ({notebook})", err=True)
    try:
        run_id = service.submit(workflow, values, trigger=trigger, started_by=principal.name,
                                rerun_of=rerun_of)
    except RunsFolderError as exc:
        fail(str(exc))
    except ParameterError as exc:  # a Secret parameter given *** (a rerun) or a value too short to mask
        fail(f"{notebook}: bad parameters:\n" + "\n".join(f"  {p}" for p in exc.problems))
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    report(service.store(), run_id, as_json)


parameter_option = click.option(
    "-p", "--parameter", "parameters", nargs=2, multiple=True, metavar="NAME VALUE",
    help="a parameter value (repeatable); parsed by the type declared in the parameters cell")


@click.command()
@click.argument("notebook", type=click.Path(path_type=Path))
@parameter_option
@click.option("-f", "--parameters-file", "param_file", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML or JSON file of parameter values (-p wins on conflicts)")
@runs_dir_option
@store_option
@json_option
@quiet_option
@backend_option("local")
@click.option("--as", "user", help="states who starts the run: the user of $JETNB_USER_TOKEN, else your login name "
                                   "(another name is refused)")
def run(notebook: Path, parameters: tuple[tuple[str, str], ...], param_file: Path | None, runs_dir: Path,
        store_path: Path | None, as_json: bool, quiet: bool, backend: str, user: str | None) -> None:
    """Run a workflow notebook now and keep the executed notebook as its run log."""
    params = _load_param_file(param_file) if param_file else {}
    params.update(dict(parameters))
    _start(notebook, params, store_path=store_path, runs_dir=runs_dir, backend=backend, as_json=as_json,
           quiet=quiet, user=user)


@click.command()
@click.argument("run_id")
@parameter_option
@runs_dir_option
@store_option
@json_option
@quiet_option
@backend_option("local")
def rerun(run_id: str, parameters: tuple[tuple[str, str], ...], runs_dir: Path, store_path: Path | None,
          as_json: bool, quiet: bool, backend: str) -> None:
    """Run the same notebook again with the same parameters (-p changes some); the new run links to the old one.

    Secret parameters are never stored: give them again with -p.
    """
    from ..model.params import typed
    from ..store import RunNotFound
    from .common import open_store

    try:
        old = open_store(store_path).get_run(run_id, with_steps=False)
    except RunNotFound as exc:
        fail(str(exc))
    _start(Path(old["notebook"]), {**typed(old["params"]), **dict(parameters)}, store_path=store_path,
           runs_dir=runs_dir, backend=backend, as_json=as_json, quiet=quiet, user=None, trigger="rerun",
           rerun_of=old["id"])


@click.command()
@click.argument("run_id")
@click.option("-p", "--parameter", "parameters", nargs=2, multiple=True, metavar="NAME VALUE",
              help="the value of a Secret parameter (repeatable): jetnb never stores them, so a run resumed by "
                   "another process needs them again")
@runs_dir_option
@store_option
@json_option
@quiet_option
@backend_option("local")
def resume(run_id: str, parameters: tuple[tuple[str, str], ...], runs_dir: Path, store_path: Path | None,
           as_json: bool, quiet: bool, backend: str) -> None:
    """Continue a waiting (decided), failed or interrupted run from where it stopped, without re-running done steps."""
    from ..model.params import ParameterError
    from ..model.workflow import WorkflowError
    from ..service.runs import ResumeError
    from ..store import RunNotFound

    service = inline_service(store_path, runs_dir, backend=backend, quiet=quiet)
    service.recover()
    try:
        if not quiet:
            click.echo(f"jetnb: resuming run {run_id}", err=True)
        resumed = service.resume(run_id, by=whoami(service.store()).name, secrets=dict(parameters))
    except (RunNotFound, ResumeError) as exc:
        fail(str(exc))
    except WorkflowError as exc:
        fail("the notebook is not runnable any more:\n" + "\n".join(f"  {p}" for p in exc.problems))
    except ParameterError as exc:
        fail("the run's parameters no longer fit the notebook:\n" + "\n".join(f"  {p}" for p in exc.problems))
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    report(service.store(), resumed, as_json)


@click.command()
@click.argument("run_id")
@click.option("--reason", help="why, for the audit log and the run's error")
@store_option
@json_option
def cancel(run_id: str, reason: str | None, store_path: Path | None, as_json: bool) -> None:
    """Cancel a run: a queued or waiting run at once; a running one is interrupted, then stopped after a grace period.

    The process executing the run (``jetnb serve``, another ``jetnb run``, a
    notebook's widget) sees the request within a second.
    """
    import json

    from ..service.runs import RunStateError
    from ..store import RunNotFound, public_run

    service = inline_service(store_path, Path("runs"), quiet=True)
    service.recover()
    try:
        run = service.cancel(run_id, by=whoami(service.store()).name, reason=reason)
    except (RunNotFound, RunStateError) as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(public_run(run), indent=2))
    elif run["status"] == "cancelled":
        click.echo(f"run {run['id']} cancelled")
    else:
        click.echo(f"run {run['id']} is running: asked to stop (its kernel is interrupted, then shut down if it "
                   "does not stop)")
