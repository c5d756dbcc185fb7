"""``jetnb secrets set / list / unset``: the secrets file next to the store (or ``$JETNB_SECRETS_FILE``).

Values go in, never come out: ``list`` prints names and where each value
comes from (the environment wins over the file), and nothing prints a value.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .common import EXIT_FAILED, fail, json_option, store_option

if TYPE_CHECKING:
    from ..secrets.sources import SecretSources
    from ..secrets.store import SecretsFile


def _file(store_path: Path | None) -> SecretsFile:
    from ..paths import secrets_path
    from ..secrets.store import SecretsFile

    return SecretsFile(secrets_path(store_path))


@click.group()
def secrets() -> None:
    """Secrets for workflows (declared with `secrets:` in %%workflow, read with jetnb.secret(NAME)).

    Values come from the environment of `jetnb run` / `jetnb serve` first,
    then from the secrets file these commands manage: .jetnb/secrets.json
    next to the store, or $JETNB_SECRETS_FILE; mode 0600, refused if wider.
    """


@secrets.command("set")
@click.argument("name")
@click.argument("value", required=False)
@store_option
def set_secret(name: str, value: str | None, store_path: Path | None) -> None:
    """Store secret NAME. Leave VALUE out to type it hidden (on a terminal) or pipe it on stdin: a VALUE on the
    command line stays in your shell's history."""
    secrets_file = _file(store_path)
    try:
        secrets_file.set(name, value if value is not None else _read_value(name))
    except ValueError as exc:
        fail(str(exc))
    click.echo(f"secret {name} saved in {secrets_file.path}")


def _read_value(name: str) -> str:
    if sys.stdin.isatty():
        return click.prompt(f"value of {name}", hide_input=True, confirmation_prompt=True)
    return sys.stdin.read().removesuffix("\n").removesuffix("\r")  # the newline `echo` or a file ends with


@secrets.command("unset")
@click.argument("name")
@store_option
def unset_secret(name: str, store_path: Path | None) -> None:
    """Remove secret NAME from the secrets file."""
    secrets_file = _file(store_path)
    try:
        removed = secrets_file.unset(name)
    except ValueError as exc:
        fail(str(exc))
    if not removed:
        fail(f"no secret {name} in {secrets_file.path}")
    click.echo(f"secret {name} removed from {secrets_file.path}")


@secrets.command("list")
@click.argument("notebooks", nargs=-1, type=click.Path(path_type=Path))
@store_option
@json_option
def list_secrets(notebooks: tuple[Path, ...], store_path: Path | None, as_json: bool) -> None:
    """Secret names and where each value comes from (never the values).

    Without NOTEBOOK, the names in the secrets file; with NOTEBOOK..., the
    secrets they declare, `missing` for those with no value (exit 1).
    """
    from ..secrets.sources import SecretSources

    sources = SecretSources(_file(store_path))
    try:
        rows = [{"name": name, "source": _source(sources, name), "declared_by": users}
                for name, users in _names(sources, notebooks).items()]
    except ValueError as exc:
        fail(str(exc))
    if as_json:
        click.echo(json.dumps(rows, indent=2))
    elif not rows:
        click.echo(f"no secrets (the secrets file is {sources.file.path})")
    else:
        from ..render import columns

        click.echo(columns([("NAME", "SOURCE", "DECLARED BY")] +
                           [(r["name"], r["source"], ", ".join(r["declared_by"]) or "-") for r in rows]))
    if any(row["source"] == "missing" for row in rows):
        sys.exit(EXIT_FAILED)


def _names(sources: SecretSources, notebooks: tuple[Path, ...]) -> dict[str, list[str]]:
    """Name -> the notebooks declaring it: the notebooks' secrets, or the file's names without notebooks."""
    from ..model.workflow import Workflow

    if not notebooks:
        return {name: [] for name in sorted(sources.stored())}
    found: dict[str, list[str]] = {}
    for path in notebooks:
        workflow = Workflow.load(path)
        if workflow.problems:
            raise ValueError("\n".join(str(p) for p in workflow.problems))
        for name in workflow.config.values.get("secrets") or ():
            found.setdefault(name, []).append(str(path))
    return found


def _source(sources: SecretSources, name: str) -> str:
    from ..secrets.sources import ENVIRONMENT

    value, where = sources.lookup(name)
    if value is None:
        return "missing"
    if where == ENVIRONMENT and name in sources.stored():
        return "environment (overrides the secrets file)"
    return where
