"""``jetnb run``, ``rerun``, ``resume`` and ``cancel``: the run service driven from a terminal."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ..secrets.environment import kernel_environment
from ..service.options import RunOptions
from .common import (EXIT_INTERRUPTED, backend_option, fail, inline_service, json_option, quiet_option, report,
                     runs_dir_option, store_option, whoami)
from .run_inputs import gather_params, papermill_notes

if TYPE_CHECKING:
    from ..model.workflow import Workflow


@dataclass(frozen=True)
class Launch:
    """How ``jetnb run`` (or ``rerun``) starts its run and reports it: everything but the notebook and values."""

    store_path: Path | None
    runs_dir: Path
    backend: str
    as_json: bool
    quiet: bool
    user: str | None = None
    options: RunOptions = field(default_factory=RunOptions)
    log_output: bool = False
    output: str | None = None  # a copy of the run log is written there (a path or a URL) when the run ends
    prepare_only: bool = False


def _start(location: str, params: dict[str, Any], how: Launch, *, trigger: str = "manual",
           rerun_of: str | None = None) -> NoReturn:
    """Validate (exit 2, nothing recorded), run here and now, report. ``location`` may be a URL.

    The local backend's kernel and imports get a head start (``executor.head_start``) while this validates."""
    from ..executor import head_start
    from ..executor.fastimport import defer_http_client, skip_cloud_clients
    from ..executor.remote import is_remote

    head = head_start.prepare() if how.backend == "local" and not how.prepare_only else None
    if head is not None and not is_remote(location) and not (how.output and is_remote(how.output)):
        skip_cloud_clients()  # only local files: papermill's S3, Azure, GCS and HDFS clients stay unimported
        defer_http_client()  # and requests until something uses it
    try:
        _validate_and_run(location, params, how, head, trigger=trigger, rerun_of=rerun_of)
    finally:  # a kernel no run took is killed now, not at the process's exit: the CLI may run in-process
        head_start.release()


def _validate_and_run(location: str, params: dict[str, Any], how: Launch, head: Any, *, trigger: str,
                      rerun_of: str | None) -> NoReturn:
    from ..executor.remote import RemoteIOError, is_remote, local_copy
    from ..model.params import ParameterError
    from ..service.runs import RunsFolderError

    try:
        with local_copy(location) as notebook:
            if head is not None:
                _begin(head, notebook, how, os.getcwd() if is_remote(location) else str(notebook.resolve().parent))
            workflow, values = _validated(location, notebook, params)
            if how.prepare_only:
                _prepare_only(location, notebook, values, how)
    except RemoteIOError as exc:
        fail(str(exc))
    remote = is_remote(location)
    options = replace(how.options, cwd=how.options.cwd or os.getcwd()) if remote else how.options
    service = inline_service(how.store_path, how.runs_dir, backend=how.backend, quiet=how.quiet,
                             log_output=how.log_output)
    principal = whoami(service.store(), how.user)
    if not how.quiet:
        click.echo(f"jetnb: running {workflow.name} ({location})", err=True)
    try:
        run_id = service.submit(workflow, values, trigger=trigger, started_by=principal.name, rerun_of=rerun_of,
                                options=options, location=location if remote else None)
    except RunsFolderError as exc:
        fail(str(exc))
    except ParameterError as exc:  # a Secret parameter given *** (a rerun) or a value too short to mask
        fail(f"{location}: bad parameters:\n" + "\n".join(f"  {p}" for p in exc.problems))
    except KeyboardInterrupt:
        fail("interrupted", EXIT_INTERRUPTED)
    report(service.store(), run_id, how.as_json, copy_to=how.output)


def _begin(head: Any, notebook: Path, how: Launch, folder: str) -> None:
    """Start the run's kernel from a quick look at the notebook (its kernel, its secrets' names), before it is
    validated: the kernel's start overlaps with validation; a kernel whose guess was wrong is not used."""
    from ..model.notebook_file import UnreadableNotebook, read_notebook_json
    from ..model.workflow import Workflow
    from ..paths import default_store_path, secrets_path
    from ..service.run_secrets import expected_withheld

    try:
        glance = Workflow.from_dict(read_notebook_json(notebook), notebook, full=False)
    except (UnreadableNotebook, ValueError, TypeError, KeyError):
        return  # no head start; validation says what is wrong
    head.begin(how.options.kernel or glance.kernel_name or "python3", how.options.cwd or folder,
               kernel_environment(expected_withheld(secrets_path(how.store_path or default_store_path()), glance)))


def _validated(location: str, notebook: Path, params: dict[str, Any]) -> tuple[Workflow, dict[str, Any]]:
    """The workflow and its checked values, or exit 2 naming every problem (a download is named by its URL)."""
    from ..model.params import ParameterError
    from ..model.workflow import WorkflowError
    from ..service.request import prepare

    def named(problem: Any) -> str:
        return str(problem).replace(str(notebook), location)

    try:
        return prepare(notebook, params)
    except WorkflowError as exc:
        fail(f"{location} is not a runnable workflow:\n" + "\n".join(f"  {named(p)}" for p in exc.problems))
    except ParameterError as exc:
        notes = "".join(f"\n  note: {note}" for note in papermill_notes(exc))
        fail(f"{location}: bad parameters:\n" + "\n".join(f"  {p}" for p in exc.problems) + notes)


def _prepare_only(location: str, notebook: Path, values: dict[str, Any], how: Launch) -> NoReturn:
    """papermill's ``--prepare-only``: the parameterised notebook written to the output; no kernel, no run."""
    from ..executor.prepare import write_prepared
    from ..executor.remote import RemoteIOError

    if not how.output:
        fail("--prepare-only writes the parameterised notebook to OUTPUT: give an output path "
             "(jetnb run NOTEBOOK OUTPUT --prepare-only)")
    try:
        write_prepared(notebook, how.output, values, how.options.kernel)
    except RemoteIOError as exc:
        fail(str(exc))
    if not how.quiet:
        click.echo(f"jetnb: prepared {location} with its parameters in {how.output} (not executed; nothing "
                   "recorded)", err=True)
    sys.exit(0)


def _check_kernel(ctx: click.Context, param: click.Parameter, name: str | None) -> str | None:
    """A kernel that is not installed is bad input (exit 2), not a failed run."""
    if name is None:
        return None
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    manager = KernelSpecManager()
    try:
        manager.get_kernel_spec(name)
    except NoSuchKernel:
        known = ", ".join(sorted(manager.find_kernel_specs())) or "none"
        raise click.BadParameter(f"no kernel named {name!r} (installed: {known})", ctx, param) from None
    return name


def _absolute(ctx: click.Context, param: click.Parameter, path: Path | None) -> str | None:
    return str(path.resolve()) if path is not None else None


seconds = click.FloatRange(min=0, min_open=True)


parameter_option = click.option(
    "-p", "--parameter", "--parameters", "parameters", nargs=2, multiple=True, metavar="NAME VALUE",
    help="a parameter value (repeatable); text, parsed by the type declared in the parameters cell")


@click.command()
@click.argument("notebook")
@click.argument("output", required=False)
@parameter_option
@click.option("-r", "--parameters_raw", "raws", nargs=2, multiple=True, metavar="NAME VALUE",
              help="as -p (papermill's raw string: jetnb parses all text by the declared type, so a str stays text)")
@click.option("-f", "--parameters-file", "--parameters_file", "param_files", multiple=True,
              type=click.Path(dir_okay=False, path_type=Path), help="YAML or JSON file of typed parameter values")
@click.option("-y", "--parameters_yaml", "yamls", multiple=True, metavar="YAML",
              help="YAML mapping of typed parameter values")
@click.option("-b", "--parameters_base64", "base64s", multiple=True, metavar="B64",
              help="base64 of a YAML mapping of typed parameter values")
@click.option("--cwd", type=click.Path(exists=True, file_okay=False, path_type=Path), callback=_absolute,
              help="the kernel's working folder [default: the notebook's folder; for a URL, the current folder]")
@click.option("-k", "--kernel", callback=_check_kernel,
              help="kernel name; overrides the notebook's kernelspec and %%workflow kernel")
@click.option("--start-timeout", "--start_timeout", type=seconds, help="seconds to wait for the kernel [default: 60]")
@click.option("--execution-timeout", type=seconds, help="seconds each cell may run [default: no limit]")
@click.option("--log-output/--no-log-output", default=False, help="also stream the notebook's outputs to stderr")
@click.option("--prepare-only/--prepare-execute", default=False,
              help="write the parameterised notebook to OUTPUT without executing it; nothing is recorded")
@click.option("--progress-bar/--no-progress-bar", default=None,
              help="accepted for papermill's sake: jetnb prints step lines instead (-q hides them)")
@runs_dir_option
@store_option
@json_option
@quiet_option
@backend_option("local")
@click.option("--as", "user", help="states who starts the run: the user of $JETNB_USER_TOKEN, else your login name "
                                   "(another name is refused)")
def run(notebook: str, output: str | None, parameters: tuple[tuple[str, str], ...],
        raws: tuple[tuple[str, str], ...], param_files: tuple[Path, ...], yamls: tuple[str, ...],
        base64s: tuple[str, ...], cwd: str | None, kernel: str | None, start_timeout: float | None,
        execution_timeout: float | None, log_output: bool, prepare_only: bool, progress_bar: bool | None,
        runs_dir: Path, store_path: Path | None, as_json: bool, quiet: bool, backend: str, user: str | None) -> None:
    """Run a workflow notebook now and keep the executed notebook as its run log.

    NOTEBOOK and OUTPUT may be paths or URLs papermill can read and write
    (s3://, gs://, abs://, http(s)://). With OUTPUT, a copy of the run log
    is written there when the run ends, whatever its status.
    """
    from ..model.params import ParameterError

    try:
        params = gather_params(base64s, param_files, yamls, parameters, raws)
    except ParameterError as exc:
        fail("\n".join(exc.problems))
    if log_output:
        _stream_outputs()
    options = RunOptions(cwd=cwd, kernel=kernel, start_timeout=start_timeout, execution_timeout=execution_timeout)
    _start(notebook, params, Launch(store_path, runs_dir, backend, as_json, quiet, user, options, log_output, output,
                                    prepare_only))


def _stream_outputs() -> None:
    """papermill's ``--log-output``: the outputs it logs (at INFO, under ``papermill``) go to stderr as they come."""
    import logging

    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    # papermill names its input and output here, but jetnb hands it a notebook object and writes the run log
    # itself, so those two lines would say "NotebookNode object" and "Notebook will not be saved"
    handler.addFilter(lambda record: not record.getMessage().startswith(("Input Notebook:", "Output Notebook:")))
    logger = logging.getLogger("papermill")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


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
    how = Launch(store_path, runs_dir, backend, as_json, quiet, options=RunOptions.from_dict(old["options"]))
    _start(old["notebook"], {**typed(old["params"]), **dict(parameters)}, how, trigger="rerun", rerun_of=old["id"])


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
