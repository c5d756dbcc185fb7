"""Opening the SQLite file: WAL mode, a busy timeout for concurrent writers, and migrations to the latest schema."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

from ..paths import DEFAULT_STORE as DEFAULT_PATH, default_store_path  # defined with the secrets file's path
from .schema import MIGRATIONS

__all__ = ["DEFAULT_PATH", "StoreError", "connect", "default_store_path", "migrate"]


class StoreError(RuntimeError):
    """The store cannot be used (not a SQLite file, a folder, no permission, a newer schema); the message says which."""


BUSY_TIMEOUT = 30.0  # seconds a connection waits for another one's write, and ``connect`` for another's setup


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection in autocommit mode; callers group writes with ``transaction``. Raises StoreError."""
    path = Path(path)
    conn = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise StoreError(f"the store {path} is a folder; give the path of a SQLite file")
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        _set_up(conn)
    except sqlite3.DatabaseError as exc:
        _close(conn)
        raise StoreError(f"the store {path} cannot be used: {exc}") from None
    except OSError as exc:
        _close(conn)
        raise StoreError(f"the store {path} cannot be opened: {exc.strerror or exc}") from None
    return conn


def _set_up(conn: sqlite3.Connection) -> None:
    """WAL mode, the pragmas and the migrations, tried again while another connection sets up the same new file.

    Until a new file is in WAL mode it uses SQLite's rollback journal, where
    two connections that both read and then want to write deadlock: SQLite
    answers one of them "database is locked" at once, without waiting out
    the busy timeout (two threads, or ``jetnb run`` and ``jetnb serve``,
    opening a store that does not exist yet). The one told so holds no lock
    once its statement failed; trying again after the other is done succeeds.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            migrate(conn)
            return
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _busy(exc: sqlite3.OperationalError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return (code & 0xFF) in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED) if code is not None else "locked" in str(exc)


def _close(conn: sqlite3.Connection | None) -> None:
    if conn is not None:
        conn.close()


def migrate(conn: sqlite3.Connection) -> int:
    """Apply pending migrations, each atomically; returns the schema version."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version > len(MIGRATIONS):
        raise StoreError(
            f"the store was written by a newer jetnb (schema {version}, this jetnb knows {len(MIGRATIONS)})"
        )
    for number in range(version + 1, len(MIGRATIONS) + 1):
        conn.execute("BEGIN IMMEDIATE")
        try:
            if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
                conn.execute("ROLLBACK")
                continue
            for statement in MIGRATIONS[number - 1].split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return len(MIGRATIONS)
