"""People who use jetnb through the API, the pages and widgets: names, groups and personal API tokens.

A token is shown once, when it is made (``jetnb users add``/``rotate``);
the store keeps only a random salt and the SHA-256 of salt + secret. Tokens
carry a public id (``jnb_<id>_<secret>``) so checking one is a single
indexed lookup and one hash, cheap enough for every request; the secret
part is 256 random bits, so a fast hash is as safe as a slow one here.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import sqlite3
import time
from typing import Any, Callable

from ..protocol import Principal

USER_RE = re.compile(r"^[\w.@-]{1,64}$")
PREFIX = "jnb_"


class UserError(ValueError):
    """A user that cannot be added, found or changed; the message says which and why."""


def _digest(salt: str, secret: str) -> str:
    return hashlib.sha256(f"{salt}:{secret}".encode()).hexdigest()


def _new_token() -> tuple[str, str, str, str]:
    """(token shown once, its public id, salt, digest)."""
    token_id, secret, salt = secrets.token_hex(6), secrets.token_urlsafe(32), secrets.token_hex(16)
    return f"{PREFIX}{token_id}_{secret}", token_id, salt, _digest(salt, secret)


def _check_name(name: str, what: str) -> str:
    if not isinstance(name, str) or not USER_RE.fullmatch(name):
        raise UserError(f"{name!r} is not a valid {what} name (1 to 64 letters, digits, '.', '@', '_', '-')")
    return name


class UsersTable:
    """Mixin for ``Store``: the ``users`` table."""

    conn: sqlite3.Connection
    transaction: Callable[[], Any]
    audit: Callable[..., None]

    def add_user(self, name: str, groups: list[str], *, by: str) -> str:
        """Create a user; returns their token (the only time it exists in clear)."""
        _check_name(name, "user")
        groups = sorted({_check_name(g, "group") for g in groups})
        token, token_id, salt, digest = _new_token()
        with self.transaction() as conn:
            if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                raise UserError(f"user {name!r} exists already (jetnb users rotate {name} gives a new token)")
            conn.execute("INSERT INTO users (name, groups, token_id, salt, token_hash, created_at) "
                         "VALUES (?, ?, ?, ?, ?, ?)", (name, json.dumps(groups), token_id, salt, digest, time.time()))
            self.audit(by, "user.added", f"user:{name}", {"groups": groups})
        return token

    def rotate_token(self, name: str, *, by: str) -> str:
        """A new token for ``name``; the old one stops working at once."""
        token, token_id, salt, digest = _new_token()
        with self.transaction() as conn:
            changed = conn.execute("UPDATE users SET token_id = ?, salt = ?, token_hash = ?, rotated_at = ? "
                                   "WHERE name = ?", (token_id, salt, digest, time.time(), name)).rowcount
            if not changed:
                raise UserError(f"no user {name!r}")
            self.audit(by, "user.rotated", f"user:{name}")
        return token

    def remove_user(self, name: str, *, by: str) -> None:
        with self.transaction() as conn:
            if not conn.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount:
                raise UserError(f"no user {name!r}")
            self.audit(by, "user.removed", f"user:{name}")

    def users(self) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT name, groups, created_at, rotated_at FROM users ORDER BY name")
        return [{**dict(r), "groups": json.loads(r["groups"])} for r in rows]

    def user_groups(self, name: str) -> tuple[str, ...]:
        row = self.conn.execute("SELECT groups FROM users WHERE name = ?", (name,)).fetchone()
        return tuple(json.loads(row["groups"])) if row else ()

    def authenticate(self, token: str | None) -> Principal | None:
        """The user a personal token belongs to, or None (unknown, malformed, rotated or removed)."""
        if not token or not token.startswith(PREFIX):
            return None
        token_id, _, secret = token[len(PREFIX):].partition("_")
        row = self.conn.execute("SELECT name, groups, salt, token_hash FROM users WHERE token_id = ?",
                                (token_id,)).fetchone()
        if row is None or not hmac.compare_digest(_digest(row["salt"], secret), row["token_hash"]):
            return None
        return Principal(row["name"], tuple(json.loads(row["groups"])), token_id=token_id)

    def session_valid(self, name: str, token_id: str) -> Principal | None:
        """A web session names its user and token id: it ends when the token is rotated or the user removed."""
        row = self.conn.execute("SELECT name, groups FROM users WHERE name = ? AND token_id = ?",
                                (name, token_id)).fetchone()
        return Principal(row["name"], tuple(json.loads(row["groups"])), token_id=token_id) if row else None
