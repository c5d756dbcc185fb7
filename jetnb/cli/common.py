"""What every command shares: exit codes, the common options, opening the store and the run service, and how a
run's end is reported on a terminal.

Commands import what they need inside their body so that ``jetnb runs`` and
``jetnb show`` never pay for papermill.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import click

from ..store import Store, default_store_path

if TYPE_CHECKING:
    from ..protocol import Principal, StepEvent
    from ..service.runs import RunService

EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130

store_option = click.option(
    "--store", "store_path", type=click.Path(dir_okay=False, path_type=Path), envvar="JETNB_STORE",
    default=None, help="SQLite store [default: .jetnb/jetnb.db, or $JETNB_STORE]",
)
json_option = click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")


class RunsDir(click.ParamType):
    """A local folder (a Path) or an fsspec URL kept as text (``s3://bucket/runs``; Path would fold its ``//``)."""

    name = "dir|url"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> str | Path:
        text = str(value)
        if "://" in text:
            return text.rstrip("/")
        if Path(text).is_file():
            self.fail(f"{text} is a file, not a folder", param, ctx)
        return Path(text)


runs_dir_option = click.option("--runs-dir", type=RunsDir(), default="runs", show_default=True,
                               help="where run logs are written, as <dir>/<workflow>/<run-id>.ipynb: a folder or an "
                                    "fsspec URL (s3://bucket/runs, gs://..., file://...)")
quiet_option = click.option("-q", "--quiet", is_flag=True, help="no progress lines")
keep_runs_option = click.option("--keep-runs", type=click.IntRange(0), default=None,
                                help="for workflows without retention: of their own, keep the newest N ended runs")
retention_days_option = click.option("--retention-days", type=click.FloatRange(0, 366, min_open=True), default=None,
                                     help="for workflows without retention: of their own, remove ended runs older "
                                          "than N days")


def check_backend(ctx: click.Context, param: click.Parameter, name: str) -> str:
    """An executor backend registered under ``jetnb.executors`` (checked here, loaded only when a run starts)."""
    from ..executor import backend_names

    known = backend_names()
    if name not in known:
        raise click.BadParameter(f"unknown backend {name!r} (registered: {', '.join(known)})", ctx, param)
    return name


def _scheduler(ctx: click.Context, param: click.Parameter, address: str | None) -> None:
    """The ``dask`` backend reads its scheduler's address from the environment, as its workers' children would."""
    if address:
        os.environ["JETNB_DASK_SCHEDULER"] = address


def backend_option(default: str) -> Any:
    """``--backend`` and, for the ``dask`` backend, ``--dask-scheduler`` (one decorator: they go together)."""
    backend = click.option("--backend", default=default, show_default=True, callback=check_backend,
                           help="executor backend (jetnb.executors entry points: local, pool, forked, dask, ...)")
    scheduler = click.option("--dask-scheduler", metavar="ADDRESS", envvar="JETNB_DASK_SCHEDULER", expose_value=False,
                             callback=_scheduler, help="the Dask scheduler of --backend dask (tcp://HOST:8786) "
                                                       "[or $JETNB_DASK_SCHEDULER]")
    return lambda command: backend(scheduler(command))


def open_backend_or_exit(name: str) -> None:
    """Connect the backend now (a Dask scheduler), so that one that cannot run anything is one error, exit 2."""
    from ..executor import BackendUnavailable, open_backend

    try:
        open_backend(name)
    except BackendUnavailable as exc:
        fail(str(exc))


def fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"jetnb: {message}", err=True)
    sys.exit(code)


def open_store(path: Path | None) -> Store:
    return Store(path or default_store_path())


def whoami(store: Store, claimed: str | None = None) -> Principal:
    """The caller: the user of ``$JETNB_USER_TOKEN``, else the OS account; ``--as`` may only state it."""
    from ..service.identity import IdentityError, check_claim, local_principal

    try:
        principal = local_principal(store)
        check_claim(principal, claimed)
    except IdentityError as exc:
        fail(str(exc))
    return principal


def inline_service(store_path: Path | None, runs_dir: Path, *, backend: str = "local", quiet: bool = False,
                   log_output: bool = False) -> RunService:
    """The run service of one command: runs execute here, now, with step lines on stderr."""
    open_backend_or_exit(backend)
    from ..service.runs import RunService
    from ..service.strategies import Inline
    from ..store import Database

    def waiting(run_id: str, ahead: list[dict[str, Any]]) -> None:
        if not quiet:
            holders = ", ".join(f"{r['id']} ({r['trigger']})" for r in ahead) or "another run"
            click.echo(f"jetnb: run {run_id} is queued: its workflow's concurrency is taken by {holders}; "
                       "waiting (Ctrl-C to give up)", err=True)

    return RunService(Database(store_path or default_store_path()), runs_dir=runs_dir, strategy=Inline(waiting),
                      backend=backend, progress=Progress(quiet), log_output=log_output)


class Progress:
    """Step lines on stderr: rewritten in place on a terminal, one line per finished step otherwise."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.tty = sys.stderr.isatty()

    def __call__(self, event: StepEvent, index: int, total: int) -> None:
        if self.quiet:
            return
        line = f"[{index}/{total}] {event.line()}"
        if event.status == "running" and event.progress:
            line += f" {event.progress['done']}/{event.progress['total']} items"
        if event.status == "running":
            if self.tty:
                click.echo(line, err=True, nl=False)
            return
        click.echo(("\r\x1b[2K" if self.tty else "") + line, err=True)


def report(store: Store, run_id: str, as_json: bool, *, copy_to: str | None = None) -> NoReturn:
    """Print how a run ended (or where it waits) and exit with the matching code.

    ``copy_to``: a copy of the run log is written there (``jetnb run NB OUTPUT``); a copy that cannot be written
    makes a run that went well exit 1, since whoever asked for it expects the file.
    """
    from ..durations import format_duration
    from ..render import failure_report
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
        if run["artifacts"]:
            click.echo(f"artifacts: {', '.join(a['name'] for a in run['artifacts'])} "
                       f"(jetnb artifacts {run['id']} NAME)")
        for approval in store.run_approvals(run["id"]) if run["status"] == "waiting" else []:
            if approval["status"] == "pending":
                click.echo(f"waiting for approval {approval['id']} ({approval['step']}) from "
                           f"{', '.join(approval['approvers'])}: {approval['message']}\n"
                           f"  decide with: jetnb approve {approval['id']} (or jetnb reject ...) as an approver "
                           f"(their personal token in $JETNB_USER_TOKEN); then: jetnb resume {run['id']}")
        click.echo(f"run log: {relative(run['log_path'])}")
    codes = {"succeeded": 0, "waiting": 0, "interrupted": EXIT_INTERRUPTED}
    code = codes.get(run["status"], EXIT_FAILED)
    if copy_to and not copy_log(run["log_path"], copy_to) and code == 0:
        code = EXIT_FAILED
    sys.exit(code)


def copy_log(log_path: str | None, destination: str) -> bool:
    """Write the run log's current content to ``destination`` (a path or a URL); False, said on stderr, if not."""
    from ..executor.remote import RemoteIOError, write_text

    from .. import location

    if not log_path or not location.is_file(log_path):
        click.echo(f"jetnb: no run log to copy to {destination} (the run never started)", err=True)
        return False
    try:
        write_text(location.read_text(log_path), destination)
    except RemoteIOError as exc:
        click.echo(f"jetnb: {exc}", err=True)
        return False
    return True


def relative(path: str | None) -> str:
    if not path:
        return "-"
    try:
        return str(Path(path).relative_to(Path.cwd()))
    except ValueError:
        return path
