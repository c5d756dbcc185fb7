"""Declared reactions: the handlers and actions ``on_error``, ``on_success``, ``on_pause``, ``notify_approvers`` and
the named ``actions:`` of ``%%workflow`` hold, read and checked without running anything.

``on_error: alert`` (a ``%%handler``) and ``on_error: alert.ipynb`` keep
their meaning; a list adds actions from the ``jetnb.actions`` registry, each
a mapping with one key, the action, whose value holds its keyword
arguments::

    on_error:
      - alert                                  # at most one handler or notebook per list
      - slack: {webhook_url_secret: SLACK_WEBHOOK, text: "{workflow} failed at {step}: {error}"}

``ARG_secret: NAME`` gives the argument ``ARG`` the value of the secret
``NAME`` when the action is called; arguments that are credentials (a hook
URL, an SMTP URL, a signing secret: ``CREDENTIALS``) can only be given that
way, so no notebook holds one. Texts are templates (``model.placeholders``)
whose fields depend on the event (``FIELDS``).
"""

from __future__ import annotations

import difflib
import inspect
import re
from dataclasses import dataclass
from typing import Any

from ..fields import key_label
from ..quoting import shown
from .headers import step_name
from .placeholders import PARAMS_PREFIX, TemplateError, placeholders, templates_in

REACTION_KEYS = ("on_error", "on_success", "on_pause")
SECRET_SUFFIX = "_secret"
SECRET_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")  # as environment variables are named

# Per action, the arguments that are credentials, and the secret the action reads when one is left out.
CREDENTIALS: dict[str, dict[str, str | None]] = {
    "slack": {"webhook_url": "SLACK_WEBHOOK_URL"},
    "email": {"smtp_url": "SMTP_URL"},
    "webhook": {"url": None, "secret": None},
    "sql": {"url": None},
}

_RUN = ("workflow", "run_id", "status", "started_by", "trigger", "run_url")
_STEP = ("workflow", "run_id", "status", "started_by", "trigger", "step")
FIELDS: dict[str, tuple[str, ...]] = {
    "on_error": (*_RUN, "step", "error", "error_type"),
    "on_success": (*_RUN, "result"),
    "on_pause": ("workflow", "reason", "failures", "last_error", "last_run_id", "run_url"),
    "notify_approvers": (*_RUN, "step", "approval_id", "approvers", "message", "approvals_url"),
    "on_error_action": (*_STEP, "error", "error_type"),
    "on_success_action": _STEP,
}
WITH_PARAMS = ("on_error", "on_success", "notify_approvers", "on_error_action", "on_success_action")


@dataclass(frozen=True)
class ActionCall:
    """One declared action: its registry name, its arguments as written, and where it was declared."""

    name: str
    arguments: dict[str, Any]
    where: str  # on_error[1].slack, actions.page_ops.email

    def secrets(self) -> dict[str, str]:
        """Argument -> secret name: the ``ARG_secret`` keys, and the default secret of a credential left out."""
        named = {key[: -len(SECRET_SUFFIX)]: value for key, value in self.arguments.items()
                 if _is_secret_key(self.name, key)}
        defaults = {arg: secret for arg, secret in CREDENTIALS.get(self.name, {}).items()
                    if secret and arg not in named}
        return {**defaults, **named}

    def plain(self) -> dict[str, Any]:
        """The arguments given as values (templates included), not through secrets."""
        return {key: value for key, value in self.arguments.items() if not _is_secret_key(self.name, key)}

    def templates(self) -> list[tuple[str, str]]:
        """Each text of the plain arguments, with its path under ``where``."""
        return [found for key, value in self.plain().items() for found in templates_in(value, f"{self.where}.{key}")]


def _is_secret_key(action: str, key: str) -> bool:
    """``url_secret`` names a secret for ``url``, unless the action itself takes an argument of that name."""
    if not key.endswith(SECRET_SUFFIX) or len(key) == len(SECRET_SUFFIX):
        return False
    return key not in _signature_names(action)


# The YAML values (Field checks) -----------------------------------------------------------------------------


def handler_ref(value: Any) -> str:
    """A ``%%handler`` name or a ``.ipynb`` path."""
    if not isinstance(value, str):
        raise ValueError(f"expected a %%handler name or a .ipynb path, got {type(value).__name__}")
    if value.endswith(".ipynb"):
        return value
    try:
        return step_name(value)
    except ValueError:
        raise ValueError(f"{shown(value)} is neither a %%handler name nor a .ipynb path") from None


def reaction(value: Any) -> str | list[Any]:
    """``on_error``/``on_success``/``on_pause``: a handler, or a list of a handler and actions (see
    ``check_reactions``)."""
    if isinstance(value, list) and value:
        return value
    if isinstance(value, list):
        raise ValueError("expected a handler, a .ipynb path, or a non-empty list of them and actions")
    return handler_ref(value)


def action_list(value: Any) -> list[Any]:
    """``notify_approvers``: one action mapping, or a list of them."""
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and value:
        return value
    raise ValueError("expected an action ({email: {...}}) or a list of them")


def named_actions(value: Any) -> dict[str, Any]:
    """``actions``: name -> action mapping, for the ``--on-error-action NAME`` option of steps."""
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping of names to actions, got {type(value).__name__}")
    return value


# Reading declared values ---------------------------------------------------------------------------------------


def handler_of(value: Any) -> str | None:
    """The handler or notebook a reaction value names, if any."""
    if isinstance(value, str):
        return value
    return next((item for item in value or () if isinstance(item, str)), None)


def actions_of(value: Any, where: str) -> list[ActionCall]:
    """The action calls of a reaction value (or ``notify_approvers``), in order; handlers left out."""
    items = value if isinstance(value, list) else ([value] if isinstance(value, dict) else [])
    calls = []
    for index, item in enumerate(items):
        if isinstance(item, dict) and len(item) == 1:
            (name, arguments), = item.items()
            calls.append(ActionCall(str(name), dict(arguments or {}), f"{where}[{index}].{name}"))
    return calls


def named_calls(config: dict[str, Any]) -> dict[str, ActionCall]:
    """The ``actions:`` blocks as calls, by name."""
    found = {}
    for name, item in (config.get("actions") or {}).items():
        if isinstance(item, dict) and len(item) == 1:
            (action, arguments), = item.items()
            found[name] = ActionCall(str(action), dict(arguments or {}), f"actions.{name}.{action}")
    return found


# Checks --------------------------------------------------------------------------------------------------------


def check_reactions(values: dict[str, Any], problems: list[str]) -> None:
    """Every declared action: a known action, arguments its function takes, credentials through secrets."""
    for key in REACTION_KEYS:
        value = values.get(key)
        if isinstance(value, list):
            _check_list(value, key, problems, handlers=True)
    if values.get("notify_approvers"):
        _check_list(values["notify_approvers"], "notify_approvers", problems, handlers=False)
    for name, item in (values.get("actions") or {}).items():
        where = f"actions.{key_label(name)}"
        try:
            step_name(name if isinstance(name, str) else shown(name))
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        _check_action(item, where, problems)


def _check_list(items: list[Any], key: str, problems: list[str], *, handlers: bool) -> None:
    seen_handler = None
    for index, item in enumerate(items):
        where = f"{key}[{index}]"
        if isinstance(item, str) and handlers:
            try:
                handler_ref(item)
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
            if seen_handler is not None:
                problems.append(f"{where}: a second handler ({shown(item)} after {shown(seen_handler)}); a list "
                                "holds at most one handler or notebook, and any number of actions")
            seen_handler = item
            continue
        _check_action(item, where, problems)


def _check_action(item: Any, where: str, problems: list[str]) -> None:
    from ..actions import UnknownAction, action_names  # reads the entry points only when an action is declared

    if not isinstance(item, dict) or len(item) != 1:
        problems.append(f"{where}: each action is a mapping with one key, the action "
                        f"({', '.join(action_names())}), e.g. {{slack: {{text: ...}}}}")
        return
    (name, arguments), = item.items()
    at = f"{where}.{key_label(name)}"
    if not isinstance(name, str) or name not in action_names():
        close = difflib.get_close_matches(str(name), action_names(), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(action_names())}"
        problems.append(f"{at}: unknown action ({hint})")
        return
    if arguments is not None and not isinstance(arguments, dict):
        problems.append(f"{at}: expected a mapping of the action's arguments, got {type(arguments).__name__}")
        return
    try:
        parameters = _signature(name)
    except UnknownAction as exc:
        problems.append(f"{at}: {exc}")
        return
    problems.extend(_argument_problems(name, arguments or {}, parameters, at))


def _argument_problems(action: str, arguments: dict[Any, Any], parameters: dict[str, inspect.Parameter],
                       at: str) -> list[str]:
    """Arguments the function takes, secrets by name, credentials only through secrets, required ones given."""
    found: list[str] = []
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
    named = {n for n, p in parameters.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    given: set[str] = set()
    for key, value in arguments.items():
        where = f"{at}.{key_label(key)}"
        key = str(key)
        if key not in named and key.endswith(SECRET_SUFFIX) and (key[: -len(SECRET_SUFFIX)] in named or takes_any):
            argument = key[: -len(SECRET_SUFFIX)]
            if not isinstance(value, str) or not SECRET_NAME.fullmatch(value):
                found.append(f"{where}: expected the name of a secret (letters, digits and '_'), got {shown(value)}")
        elif key in named or takes_any:
            argument = key
            if key in CREDENTIALS.get(action, {}):
                found.append(f"{where}: a credential is never written in the notebook; name the secret that holds "
                             f"it: {key}{SECRET_SUFFIX}: NAME")
        else:
            close = difflib.get_close_matches(key, sorted(named), n=1)
            hint = f"did you mean {close[0]!r}?" if close else f"it takes: {', '.join(sorted(named))}"
            found.append(f"{where}: {action} takes no argument {key!r} ({hint})")
            continue
        if argument in given:
            found.append(f"{where}: {argument} is given twice (as a value and from a secret)")
        given.add(argument)
    defaults = CREDENTIALS.get(action, {})
    missing = [n for n in sorted(named) if parameters[n].default is inspect.Parameter.empty and n not in given
               and not defaults.get(n)]
    found += [f"{at}: {n} is required" + (f" (give it from a secret: {n}{SECRET_SUFFIX}: NAME)" if n in defaults
                                            else "") for n in missing]
    return found


def _signature(action: str) -> dict[str, inspect.Parameter]:
    from ..actions import get_action

    return dict(inspect.signature(get_action(action)).parameters)


def _signature_names(action: str) -> set[str]:
    from ..actions import UnknownAction

    try:
        return set(_signature(action))
    except UnknownAction:
        return set()


# Template fields -----------------------------------------------------------------------------------------------


def template_problems(call: ActionCall, event: str, parameters: list[str] | None) -> list[str]:
    """Each placeholder of ``call`` that ``event`` cannot fill; ``parameters`` None when they could not be read."""
    known = FIELDS[event]
    found = []
    for path, text in call.templates():
        try:
            names = placeholders(text)
        except TemplateError as exc:
            found.append(f"{path}: {exc}")
            continue
        for name in names:
            problem = _field_problem(name, event, known, parameters)
            if problem:
                found.append(f"{path}: {problem}")
    return found


def _field_problem(name: str, event: str, known: tuple[str, ...], parameters: list[str] | None) -> str | None:
    if name.startswith(PARAMS_PREFIX):
        key = name[len(PARAMS_PREFIX):]
        if event not in WITH_PARAMS:
            return f"unknown field {{{name}}}: {event} is about the workflow, not one run's parameters"
        if parameters is None or key in parameters:
            return None
        declared = f"declared: {', '.join(parameters)}" if parameters else "the notebook declares no parameters"
        return f"unknown field {{{name}}}: no parameter {key!r} ({declared})"
    if name in known:
        return None
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {{{close[0]}}}? " if close else ""
    params = ", params.NAME" if event in WITH_PARAMS else ""
    return f"unknown field {{{name}}} ({hint}{event} knows: {', '.join(known)}{params})"



def declared_template_problems(config: dict[str, Any], parameters: list[str] | None,
                               uses: dict[str, set[str]]) -> list[str]:
    """Every template problem of the ``%%workflow`` cell; a named block is checked for the step options that use it
    (``uses``: block name -> ``on_error_action``/``on_success_action``), an unused one as an error action."""
    found: list[str] = []
    for key in (*REACTION_KEYS, "notify_approvers"):
        for call in actions_of(config.get(key), key):
            found += template_problems(call, key, parameters)
    for name, call in named_calls(config).items():
        for event in sorted(uses.get(name) or {"on_error_action"}):
            found += [p for p in template_problems(call, event, parameters) if p not in found]
    return found


def reaction_targets(value: Any) -> list[str]:
    """What a reaction value starts, as graphs name it: its handler or notebook, then ``action NAME`` per action."""
    handler = handler_of(value)
    return ([handler] if handler else []) + [f"action {call.name}" for call in actions_of(value, "")]


def step_targets(options: dict[str, Any], on: str) -> list[str]:
    """What a step's ``--on-error``/``--on-error-action`` (``on`` = ``error``) start, as graphs name it."""
    handler = options.get(f"on_{on}")
    return ([handler] if handler else []) + [f"action {name}" for name in options.get(f"on_{on}_action") or []]
