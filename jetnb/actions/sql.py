"""``sql.query`` and ``sql.execute``: one statement against any database SQLAlchemy speaks, values always bound.

Statements go through SQLAlchemy Core's ``text()``: values are passed as
``:name`` parameters and sent to the driver apart from the SQL, so a value
can never become SQL (an order note of ``'; DROP TABLE orders; --`` is
stored as that text). A ``params`` that is not a mapping is refused rather
than guessed at. Each statement runs in its own transaction, committed when
it succeeds. Engines (and their connection pools) are kept per URL for the
process. A relative SQLite path is the current folder's: the notebook's, in
a run.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import URL, Engine, create_engine, make_url, text
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from .errors import ActionError
from .record import Call, recorded
from .redact import credentials, scrub
from .settings import text as check_text
from .settings import url_text

Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None
T = TypeVar("T")

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def query(url: str | URL, sql: str, params: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """Run a statement that returns rows (``SELECT``, ``... RETURNING``) and return them as dicts."""
    __tracebackhide__ = True
    return _run("sql.query", url, sql, params, lambda result: [dict(row._mapping) for row in result], many=False)


def execute(url: str | URL, sql: str, params: Params = None) -> int:
    """Run a statement (a list of mappings runs it once per mapping) and return the rows it changed.

    The count is the driver's: -1 when it cannot tell.
    """
    __tracebackhide__ = True
    return _run("sql.execute", url, sql, params, lambda result: result.rowcount, many=True)


def _run(action: str, url: str | URL, sql: str, params: Params, collect: Callable[[CursorResult[Any]], T],
         many: bool) -> T:
    __tracebackhide__ = True
    with recorded(action) as call:
        database = _database(url, call)
        statement = text(check_text("sql", sql))
        bound = _bound(params, many)
        try:
            with _engine(database).begin() as connection:
                value = collect(connection.execute(statement, bound))
        except SQLAlchemyError as exc:
            raise ActionError(f"{call.target}: {_reason(exc, call.secrets)}") from None
        call.detail["rows"] = len(value) if isinstance(value, list) else value
        return value


def _database(url: Any, call: Call) -> URL:
    """The URL, a relative SQLite file made absolute; sets the event's target (the database, never the login)."""
    written = url.render_as_string(hide_password=False) if isinstance(url, URL) else url_text("url", url)
    call.secrets = credentials(written)
    try:
        database = make_url(url)
    except (ArgumentError, ValueError):  # its message repeats the whole URL, password included
        raise ValueError("url: not a database URL (e.g. sqlite:///shop.db, postgresql://user:***@host/db)") from None
    name = database.database or ""
    if database.get_backend_name() == "sqlite" and name and name != ":memory:" and not name.startswith("file:"):
        database = database.set(database=str(Path(name).expanduser().resolve()))
    call.detail["dialect"] = database.get_backend_name()
    call.target = _target(database)
    return database


def _target(database: URL) -> str:
    """SQLite: the file's name; a server: ``host[:port]/database``."""
    if database.get_backend_name() == "sqlite":
        return Path(database.database).name if database.database else ":memory:"
    host = f"{database.host or ''}{f':{database.port}' if database.port else ''}"
    return f"{host}/{database.database or ''}" if host else database.database or database.get_backend_name()


def _bound(params: Any, many: bool) -> Any:
    """A mapping of bound values (or, for ``execute``, a list of them); anything else is refused, not guessed."""
    if params is None or isinstance(params, Mapping):
        return params
    if many and isinstance(params, (list, tuple)) and params and all(isinstance(p, Mapping) for p in params):
        return list(params)
    expected = "a mapping" + (" or a non-empty list of mappings" if many else "")
    raise TypeError(f"params: expected {expected} of bound values for the :name placeholders in the SQL "
                    f"(e.g. {{'id': 3}}), got {type(params).__name__}")


def _engine(database: URL) -> Engine:
    key = database.render_as_string(hide_password=False)
    with _lock:
        if key not in _engines:
            _engines[key] = create_engine(database)
        return _engines[key]


def _reason(exc: SQLAlchemyError, secrets: list[str]) -> str:
    """The driver's own message (``no such table: orders``), without SQLAlchemy's echo of the SQL and values."""
    inner = getattr(exc, "orig", None) or exc
    message = str(inner).split("\n")[0].split(" (Background on this error")[0]
    return f"{type(inner).__name__}: {scrub(message, secrets)}"
