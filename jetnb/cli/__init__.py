"""The ``jetnb`` command line. Exit codes: 0 ok, 1 the run failed or problems were found, 2 bad usage or input.

Commands import what they need inside their body so that ``jetnb runs`` and
``jetnb show`` never pay for papermill.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from ..store import Store, default_store_path

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130

store_option = click.option(
    "--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), envvar="JETNB_STORE",
    default=None, help="SQLite store [default: .jetnb/jetnb.db, or $JETNB_STORE]",
)
json_option = click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")


def _store(path: Path | None) -> Store:
    return Store(path or default_store_path())


def _backend(ctx: click.Context, param: click.Parameter, name: str) -> str:
    """An executor backend registered under ``jetnb.executors`` (checked here, loaded only when a run starts)."""
    from ..executor import backend_names

    known = backend_names()
    if name not in known:
        raise click.BadParameter(f"unknown backend {name!r} (registered: {', '.join(known)})", ctx, param)
    return name


def _fail(message: str, code: int = EXIT_USAGE) -> None:
    click.echo(f"jetnb: {message}", err=True)
    sys.exit(code)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="jetnb")
def main() -> None:
    """jetnb: workflows that are Jupyter notebooks."""


# run --------------------------------------------------------------------


class Progress:
    """Step lines on stderr: rewritten in place on a terminal, one line per finished step otherwise."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()

    def __call__(self, event: dict[str, Any]) -> None:
        from ..protocol import from_dict

        if self.quiet:
            return
        line = f"[{event['index']}/{event['total']}] {from_dict(event).line()}"
        if event["status"] == "running" and event.get("progress"):
            line += f" {event['progress']['done']}/{event['progress']['total']} items"
        if event["status"] == "running":
            if self.tty:
                click.echo(line, err=True, nl=False)
            return
        click.echo(("\r\x1b[2K" if self.tty else "") + line, err=True)


def _load_param_file(path: Path) -> dict[str, Any]:
    """The ``-f`` file's values, marked typed so that a quoted ``"3"`` stays text (``model.params``)."""
    from ..model.params import ParameterError, load_params_file, typed

    try:
        return typed(load_params_file(path))
    except ParameterError as exc:
        _fail("\n".join(exc.problems))


def _execute(notebook: Path, params: dict[str, Any], *, store_path: Path | None, runs_dir: Path, as_json: bool,
             quiet: bool, trigger: str = "manual", rerun_of: str | None = None, user: str | None = None) -> None:
    from ..model.params import ParameterError
    from ..service.runner import execute, prepare
    from ..model.workflow import WorkflowError

    try:
        workflow, values = prepare(notebook, params)
    except WorkflowError as exc:
        _fail(f"{notebook} is not a runnable workflow:\n" + "\n".join(f"  {p}" for p in exc.problems))
    except ParameterError as exc:
        _fail(f"{notebook}: bad parameters:\n" + "\n".join(f"  {p}" for p in exc.problems))
    store = _store(store_path)
    if not quiet:
        click.echo(f"jetnb: running {workflow.name} ({notebook})", err=True)
    try:
        run_id = execute(store, workflow, values, runs_dir=runs_dir, trigger=trigger, trigger_detail=None,
                         rerun_of=rerun_of, progress=Progress(quiet), backend="local", started_by=user)
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERRUPTED)
    _report(store, run_id, as_json)


def _report(store: Store, run_id: str, as_json: bool) -> None:
    """Print how a run ended (or where it waits) and exit with the matching code."""
    from ..durations import format_duration
    from .render import failure_report
    from ..store import public_run

    run = public_run(store.get_run(run_id))
    if as_json:
        click.echo(json.dumps(run, indent=2))
    else:
        click.echo(f"run {run['id']} {run['status']} in {format_duration(run['duration'])}")
        if run["result"] is not None:
            click.echo(f"result: {json.dumps(run['result'])}")
        for name, value in (run["outputs"] or {}).items():
            click.echo(f"output {name} = {json.dumps(value)}")
        if run["error"]:
            click.echo(failure_report(run), err=True)
        for handler in run["handler_runs"]:
            click.echo(f"handler run {handler['id']} ({handler['workflow']}): {handler['status']}")
        for approval in store.list_approvals() if run["status"] == "waiting" else []:
            if approval["run_id"] == run["id"]:
                click.echo(f"waiting for approval {approval['id']} ({approval['step']}) from "
                           f"{', '.join(approval['approvers'])}: {approval['message']}\n"
                           f"  decide with: jetnb approve {approval['id']} --as USER  (or jetnb reject ...); "
                           f"then: jetnb resume {run['id']}")
        click.echo(f"run log: {_relative(run['log_path'])}")
    codes = {"succeeded": 0, "waiting": 0, "interrupted": EXIT_INTERRUPTED}
    sys.exit(codes.get(run["status"], EXIT_FAILED))


def _relative(path: str | None) -> str:
    if not path:
        return "-"
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path


@main.command()
@click.argument("notebook", type=click.Path(path_type=Path))
@click.option("-p", "--parameter", "parameters", nargs=2, multiple=True, metavar="NAME VALUE",
              help="a parameter value (repeatable); parsed by the type declared in the parameters cell")
@click.option("-f", "--parameters-file", "param_file", type=click.Path(dir_okay=False, path_type=Path),
              help="YAML or JSON file of parameter values (-p wins on conflicts)")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"),
              show_default=True, help="where run logs are written, as <dir>/<workflow>/<run-id>.ipynb")
@store_option
@json_option
@click.option("-q", "--quiet", is_flag=True, help="no progress lines")
@click.option("--as", "user", help="who starts the run (for approval rules) [default: your login name]")
def run(notebook: Path, parameters: tuple[tuple[str, str], ...], param_file: Path | None, runs_dir: Path,
        store_path: Path | None, as_json: bool, quiet: bool, user: str | None) -> None:
    """Run a workflow notebook now and keep the executed notebook as its run log."""
    params = _load_param_file(param_file) if param_file else {}
    params.update(dict(parameters))
    _execute(notebook, params, store_path=store_path, runs_dir=runs_dir, as_json=as_json, quiet=quiet, user=user)


@main.command()
@click.argument("run_id")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"),
              show_default=True)
@store_option
@json_option
@click.option("-q", "--quiet", is_flag=True)
def rerun(run_id: str, runs_dir: Path, store_path: Path | None, as_json: bool, quiet: bool) -> None:
    """Run the same notebook again with the same parameters; the new run links to the old one."""
    from ..store import RunNotFound

    store = _store(store_path)
    try:
        old = store.get_run(run_id, with_steps=False)
    except RunNotFound as exc:
        _fail(str(exc))
    _execute(Path(old["notebook"]), old["params"], store_path=store_path, runs_dir=runs_dir, as_json=as_json,
             quiet=quiet, trigger="rerun", rerun_of=old["id"])


@main.command()
@click.argument("run_id")
@store_option
@json_option
@click.option("-q", "--quiet", is_flag=True)
def resume(run_id: str, store_path: Path | None, as_json: bool, quiet: bool) -> None:
    """Continue a waiting (decided), failed or interrupted run from where it stopped, without re-running done steps."""
    from ..model.params import ParameterError
    from ..service.runner import ResumeError, resume as resume_run
    from ..store import RunNotFound
    from ..model.workflow import WorkflowError

    store = _store(store_path)
    try:
        if not quiet:
            click.echo(f"jetnb: resuming run {run_id}", err=True)
        resumed = resume_run(store, run_id, progress=Progress(quiet))
    except (RunNotFound, ResumeError) as exc:
        _fail(str(exc))
    except WorkflowError as exc:
        _fail("the notebook is not runnable any more:\n" + "\n".join(f"  {p}" for p in exc.problems))
    except ParameterError as exc:
        _fail("the run's parameters no longer fit the notebook:\n" + "\n".join(f"  {p}" for p in exc.problems))
    except KeyboardInterrupt:
        _fail("interrupted", EXIT_INTERRUPTED)
    _report(store, resumed, as_json)


# approvals --------------------------------------------------------------


@main.command()
@click.option("--for", "user", help="only requests this user may decide")
@click.option("--all", "show_all", is_flag=True, help="decided and expired requests too")
@store_option
@json_option
def approvals(user: str | None, show_all: bool, store_path: Path | None, as_json: bool) -> None:
    """The approvals feed: pending requests (newest first) with what they ask and who may decide."""
    from .render import approvals_table

    found = _store(store_path).list_approvals(user=user, pending_only=not show_all)
    click.echo(json.dumps(found, indent=2, default=str) if as_json else approvals_table(found))


def _decide(approval_id: int, user: str, approve: bool, comment: str | None, store_path: Path | None,
            then_resume: bool) -> None:
    from ..store import ApprovalError

    store = _store(store_path)
    try:
        decided = store.decide(approval_id, user, approve, comment)
    except ApprovalError as exc:
        _fail(str(exc), EXIT_FAILED)
    except LookupError as exc:
        _fail(str(exc))
    click.echo(f"request {approval_id} {decided['status']} by {user}; run {decided['run_id']} can resume")
    if then_resume:
        from ..service.runner import resume as resume_run

        _report(store, resume_run(store, decided["run_id"], progress=Progress(False)), False)


def _decision_command(approve: bool) -> Any:
    verb = "approve" if approve else "reject"

    @main.command(name=verb, help=f"{verb.capitalize()} an approval request; the decision is final and audited.")
    @click.argument("approval_id", type=int)
    @click.option("--as", "user", required=True, help="who decides (must be one of the request's approvers)")
    @click.option("--comment", help="why, for the audit log and the run")
    @click.option("--resume", "then_resume", is_flag=True, help="resume the run here right away")
    @store_option
    def command(approval_id: int, user: str, comment: str | None, then_resume: bool, store_path: Path | None
                ) -> None:
        _decide(approval_id, user, approve, comment, store_path, then_resume)

    return command


_decision_command(True)
_decision_command(False)


# history ----------------------------------------------------------------


@main.command()
@click.option("-w", "--workflow", help="only this workflow")
@click.option("-s", "--status", type=click.Choice(["queued", "running", "waiting", "succeeded", "failed",
                                                   "interrupted"]), help="only runs with this status")
@click.option("-n", "--limit", type=click.IntRange(1, 10000), default=20, show_default=True)
@store_option
@json_option
def runs(workflow: str | None, status: str | None, limit: int, store_path: Path | None, as_json: bool) -> None:
    """List recent runs, newest first."""
    from .render import paused_notes, runs_table
    from ..store import public_run

    store = _store(store_path)
    store.reap_orphans()
    found = [public_run(r) for r in store.list_runs(workflow=workflow, status=status, limit=limit)]
    if as_json:
        click.echo(json.dumps(found, indent=2))
        return
    click.echo(runs_table(found))
    notes = paused_notes([s for s in store.workflow_states() if s["paused"] and (not workflow or s["name"] == workflow)])
    if notes:
        click.echo(notes)


@main.command()
@click.argument("run_id")
@store_option
@json_option
def show(run_id: str, store_path: Path | None, as_json: bool) -> None:
    """Show one run: parameters, step timeline, result, error and where its run log is."""
    from .render import run_detail
    from ..store import RunNotFound, public_run

    store = _store(store_path)
    store.reap_orphans()
    try:
        run = public_run(store.get_run(run_id))
    except RunNotFound as exc:
        _fail(str(exc))
    click.echo(json.dumps(run, indent=2) if as_json else run_detail(run))


# serving ----------------------------------------------------------------


@main.command()
@click.argument("directory", default="notebooks", type=click.Path(file_okay=False, path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on (loopback unless told)")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535), help="0 picks a free port")
@store_option
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs"),
              show_default=True, help="where run logs are written, as <dir>/<workflow>/<run-id>.ipynb")
@click.option("--max-runs", default=4, show_default=True, type=click.IntRange(1, 256),
              help="runs executing at once, all workflows together")
@click.option("--grace", default=30.0, show_default=True, type=click.FloatRange(0),
              help="seconds running runs get to finish on Ctrl-C / SIGTERM before they are interrupted")
@click.option("--backend", default="local", show_default=True, callback=_backend,
              help="pool: kernels started ahead of time (one fresh kernel per run); local: start one per run")
def serve(directory: Path, host: str, port: int, store_path: Path | None, runs_dir: Path, max_runs: int,
          grace: float, backend: str) -> None:
    """Serve the workflows under DIRECTORY: fire their triggers, take webhooks, answer the REST API."""
    from ..server import StoreInUse, serve as run_server

    if not directory.is_dir():
        _fail(f"no folder {directory} (give the folder that holds your workflow notebooks)")
    try:
        run_server(directory, host=host, port=port, store_path=store_path or default_store_path(),
                   runs_dir=runs_dir, max_runs=max_runs, grace=grace, backend=backend)
    except (StoreInUse, OSError) as exc:
        _fail(str(exc))


@main.command()
@store_option
@json_option
def schedules(store_path: Path | None, as_json: bool) -> None:
    """List every time trigger the server registered, with its next fire time and last outcome."""
    from .render import schedules_table
    from ..clock import clock_from_env
    from ..control.overview import time_triggers

    rows = time_triggers(_store(store_path), clock_from_env().now())
    click.echo(json.dumps(rows, indent=2) if as_json else schedules_table(rows))


def _set_paused(workflow: str, store_path: Path | None, paused: bool, reason: str) -> None:
    from ..store import WorkflowNotFound

    store = _store(store_path)
    try:
        changed = store.set_paused(workflow, paused, reason)
    except WorkflowNotFound as exc:
        _fail(str(exc))
    verb = "paused" if paused else "unpaused"
    if changed:
        import getpass

        store.audit(getpass.getuser(), f"workflow.{'pause' if paused else 'resume'}", f"workflow:{workflow}",
                    {"message": f"{workflow} {verb} from the command line: {reason}"})
    click.echo(f"{workflow} {verb}" if changed else f"{workflow} was already {verb}")


@main.command()
@click.argument("workflow")
@click.option("--reason", default="paused from the command line", show_default=True)
@store_option
def pause(workflow: str, reason: str, store_path: Path | None) -> None:
    """Pause a served workflow's automatic triggers (runs started by hand still run)."""
    _set_paused(workflow, store_path, True, reason)


@main.command()
@click.argument("workflow")
@store_option
def unpause(workflow: str, store_path: Path | None) -> None:
    """Resume a paused workflow's automatic triggers and reset its failure count."""
    _set_paused(workflow, store_path, False, "unpaused from the command line")


# authoring --------------------------------------------------------------


@main.command()
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


@main.command()
@click.argument("notebook", type=click.Path(path_type=Path))
def graph(notebook: Path) -> None:
    """Print the workflow's flow as a Mermaid flowchart (JupyterLab and GitHub render it)."""
    from ..model.graph import mermaid
    from ..model.workflow import Workflow

    workflow = Workflow.load(notebook)
    if workflow.problems and not workflow.cells:
        _fail("\n".join(str(p) for p in workflow.problems))
    click.echo(mermaid(workflow), nl=False)


@main.command()
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
        _fail(str(exc))
    click.echo(f"created {path}; run it with: jetnb run {path}")


if __name__ == "__main__":
    main()
