"""Ready actions for steps and handlers: plain functions that call other systems, each recorded in the run log.

``from jetnb.actions import http, email`` (or ``jetnb.actions.http.request(...)``)
gives the built-in modules: ``http``, ``webhook``, ``email``, ``slack``,
``sql``. Each is imported on first use, so ``import jetnb.actions`` costs
nothing. Actions are also registered under the entry-point group
``jetnb.actions`` (as papermill's engines are): the name a declarative
handler writes (``slack``) maps to a callable taking keyword arguments.
A plug-in action is one module and one entry point; ``get_action`` and
``action_names`` read the entry points when first asked.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import ActionError, ActionTimeout, ConnectionFailed, HTTPStatusError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

GROUP = "jetnb.actions"
MODULES = ("http", "webhook", "email", "slack", "sql")
__all__ = ["ActionError", "ActionTimeout", "ConnectionFailed", "HTTPStatusError", "UnknownAction", "action_names",
           "get_action", "http", "webhook", "email", "slack", "sql"]

_points: dict[str, EntryPoint] | None = None
_lock = threading.Lock()


class UnknownAction(LookupError):
    """No action is registered under that name, or its plug-in cannot be imported."""


def __getattr__(name: str) -> Any:
    if name in MODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def action_names() -> list[str]:
    """The registered action names, built-ins and plug-ins, sorted."""
    return sorted(_entry_points())


def get_action(name: str) -> Callable[..., Any]:
    """The callable registered as ``name`` (``get_action("slack")(text="done")``), imported now."""
    points = _entry_points()
    if name not in points:
        known = ", ".join(sorted(points)) or "none: is jetnb installed (pip install -e .)?"
        raise UnknownAction(f"unknown action {name!r} (known: {known})")
    try:
        action = points[name].load()
    except Exception as exc:  # a broken plug-in is named, not a traceback from deep in importlib
        raise UnknownAction(f"action {name!r} is installed but cannot be loaded ({type(exc).__name__}: {exc})") \
            from None
    if not callable(action):
        raise UnknownAction(f"action {name!r} ({points[name].value}) is not callable")
    return action


def _entry_points() -> dict[str, EntryPoint]:
    """Read once per process; the first registration of a name wins, as for trigger kinds."""
    from importlib.metadata import entry_points

    global _points
    with _lock:
        if _points is None:
            found: dict[str, EntryPoint] = {}
            for point in entry_points(group=GROUP):
                found.setdefault(point.name, point)
            _points = found
        return _points
