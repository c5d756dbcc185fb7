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

from collections.abc import Callable
from importlib import import_module
from typing import Any

from ..plugins import EntryPoints, UnknownPlugin
from .errors import ActionError, ActionTimeout, ConnectionFailed, HTTPStatusError

GROUP = "jetnb.actions"
MODULES = ("http", "webhook", "email", "slack", "sql")
__all__ = ["ActionError", "ActionTimeout", "ConnectionFailed", "HTTPStatusError", "UnknownAction", "action_names",
           "get_action", "http", "webhook", "email", "slack", "sql"]


class UnknownAction(UnknownPlugin):
    """No action is registered under that name, or its plug-in cannot be imported."""


_registry = EntryPoints(GROUP, "action", UnknownAction)


def __getattr__(name: str) -> Any:
    if name in MODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def action_names() -> list[str]:
    """The registered action names, built-ins and plug-ins, sorted."""
    return _registry.names()


def get_action(name: str) -> Callable[..., Any]:
    """The callable registered as ``name`` (``get_action("slack")(text="done")``), imported now."""
    action = _registry.load(name)
    if not callable(action):
        raise UnknownAction(f"action {name!r} ({_registry.points()[name].value}) is not callable")
    return action
