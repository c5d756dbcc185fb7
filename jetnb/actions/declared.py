"""Calling an action declared in ``%%workflow`` (``on_error: [{slack: {...}}]``, ``actions:`` blocks): its texts
filled from the event's fields, its credentials read from secrets by name, then the registry's function called.

The same call serves the kernel (a step's ``--on-error-action``) and the
run service (a run's ``on_error``); where secrets come from is the caller's
``SecretReader``. Both read the process's environment today
(``environment_secret``: the kernel inherits it from ``jetnb run`` /
``jetnb serve``), never storing, logging or showing a value. A call that fails before the action
runs (a secret not set, a template that cannot be filled, a plug-in gone)
still leaves exactly one failed ``ActionEvent``, as every action call does.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from ..model.placeholders import TemplateError, fill_all
from ..model.reactions import SECRET_SUFFIX, ActionCall
from . import UnknownAction, get_action
from .record import recorded

SecretReader = Callable[[str, str], str]  # (secret name, argument it is for) -> value; ValueError saying why not


def call_declared(call: ActionCall, fields: Mapping[str, Any], secret: SecretReader) -> Any:
    """Call the declared action with its filled arguments; raises what the action (or its preparation) raises."""
    __tracebackhide__ = True
    failure: Exception
    try:
        action = get_action(call.name)
        arguments = {**fill_all(call.plain(), fields),
                     **{argument: secret(name, f"{argument}{SECRET_SUFFIX}")
                        for argument, name in call.secrets().items()}}
    except (UnknownAction, TemplateError, ValueError) as exc:
        failure = exc
    else:
        return action(**arguments)
    with recorded(qualified_name(call.name)):
        raise failure


def qualified_name(name: str) -> str:
    """How events name a registry action: ``slack`` -> ``slack.send`` (the name alone when it cannot be loaded)."""
    try:
        return f"{name}.{getattr(get_action(name), '__name__', 'call')}"
    except UnknownAction:
        return name


def environment_secret(name: str, argument: str) -> str:
    """The secret ``name`` from this process's environment; ValueError naming both (never the value) when unset."""
    value = os.environ.get(name)
    if not value:
        raise ValueError(f"{argument}: the secret {name} is not set (set the environment variable {name} for "
                         "jetnb run / jetnb serve)")
    return value
