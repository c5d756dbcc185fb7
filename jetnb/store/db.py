"""Opening the SQLite file: WAL mode, a busy timeout for concurrent writers, and migrations to the latest schema."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ..paths import DEFAULT_STORE as DEFAULT_PATH, default_store_path  # defined with the secrets file's path
from .schema import MIGRATIONS

__all__ = ["DEFAULT_PATH", "StoreError", "connect", "default_store_path", "migrate"]


class StoreError(RuntimeError):
    """The store cannot be used (not a SQLite file, a folder, no permission, a newer schema); the message says which."""


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection in autocommit mode; callers group writes with ``transaction``. Raises StoreError."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            raise StoreError(f"the store {path} is a folder; give the path of a SQLite file")
        conn = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        migrate(conn)
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"the store {path} cannot be used: {exc}") from None
    except OSError as exc:
        raise StoreError(f"the store {path} cannot be opened: {exc.strerror or exc}") from None
    return conn


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
