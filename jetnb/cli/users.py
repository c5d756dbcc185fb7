"""``jetnb users add/list/remove/rotate``: the people who use the API, the pages and widgets, with their groups.

A personal token is printed once by ``add`` and ``rotate``; the store keeps
only its salted hash. Approver groups written in a notebook's ``approvers:``
match a user's own groups too.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from .common import fail, json_option, open_store, store_option, whoami


@click.group()
def users() -> None:
    """Manage users and their personal API tokens."""


@users.command("add")
@click.argument("name")
@click.option("-g", "--group", "groups", multiple=True, help="a group the user belongs to (repeatable)")
@store_option
def add(name: str, groups: tuple[str, ...], store_path: Path | None) -> None:
    """Add a user and print their personal API token (shown this once)."""
    from ..store.users import UserError

    store = open_store(store_path)
    try:
        token = store.add_user(name, list(groups), by=whoami(store).name)
    except UserError as exc:
        fail(str(exc))
    click.echo(f"user {name} added" + (f" (groups: {', '.join(sorted(set(groups)))})" if groups else ""))
    click.echo(f"token: {token}")
    click.echo("keep it: it is shown only now (jetnb users rotate gives a new one)", err=True)


@users.command("list")
@store_option
@json_option
def list_users(store_path: Path | None, as_json: bool) -> None:
    """Users and their groups (never tokens)."""
    from ..render import short_time
    from ..store.rows import iso

    found = open_store(store_path).users()
    if as_json:
        click.echo(json.dumps([{**u, "created_at": iso(u["created_at"]), "rotated_at": iso(u["rotated_at"])}
                               for u in found], indent=2))
        return
    if not found:
        click.echo("no users (jetnb users add NAME --group G)")
    for user in found:
        rotated = f", token rotated {short_time(iso(user['rotated_at']))}" if user["rotated_at"] else ""
        click.echo(f"{user['name']}  groups: {', '.join(user['groups']) or '-'}  "
                   f"(added {short_time(iso(user['created_at']))}{rotated})")


@users.command("remove")
@click.argument("name")
@store_option
def remove(name: str, store_path: Path | None) -> None:
    """Remove a user: their token stops working at once."""
    from ..store.users import UserError

    store = open_store(store_path)
    try:
        store.remove_user(name, by=whoami(store).name)
    except UserError as exc:
        fail(str(exc))
    click.echo(f"user {name} removed")


@users.command("rotate")
@click.argument("name")
@store_option
def rotate(name: str, store_path: Path | None) -> None:
    """Give a user a new token (printed once); the old one stops working at once."""
    from ..store.users import UserError

    store = open_store(store_path)
    try:
        token = store.rotate_token(name, by=whoami(store).name)
    except UserError as exc:
        fail(str(exc))
    click.echo(f"token: {token}")
