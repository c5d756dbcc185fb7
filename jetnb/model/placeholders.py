"""Message templates of declared actions: ``"{workflow} failed at {step}: {error}"``, filled without running code.

A template is text with ``{field}`` placeholders. Only names from a fixed
list are filled (the caller gives the values, a plain mapping), plus
``{params.NAME}`` for a run parameter. There is no attribute or index access,
no format spec (``{x:>10}``), no conversion (``{x!r}``) and no expression:
``str.format`` would reach ``{error.__class__}`` or ``{params[0]}`` into the
objects it is given, so it is not used. ``{{`` and ``}}`` are literal braces;
any other brace is an error, found by ``jetnb check`` before a run.

Filling: text goes in as it is, nothing as the empty text, a list of texts
as ``a, b``, any other value as compact JSON. A value written as exactly
one placeholder keeps a list or mapping as it is, so a webhook payload can
carry the run's result and ``to: "{approvers}"`` a list of addresses.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

PARAMS_PREFIX = "params."
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_FIELD = re.compile(r"(?:params\.)?[A-Za-z_][A-Za-z0-9_]*")


class TemplateError(ValueError):
    """A template that cannot be read, or a placeholder that has no value; the message names it."""


def placeholders(template: str) -> list[str]:
    """The field names a template uses, in order (``params.NAME`` as written); TemplateError when malformed."""
    found: list[str] = []
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise TemplateError(f"a lone {token!r} at position {match.start()} (write {token * 2} for a brace)")
        if not _FIELD.fullmatch(name):
            raise TemplateError(f"{{{name}}} is not a field: write {{name}} or {{params.NAME}}, without spaces, "
                                "indexes, attributes, format specs or conversions")
        found.append(name)
    return found


def fill(template: str, values: Mapping[str, Any]) -> Any:
    """The template with its placeholders filled from ``values`` (``params.X`` from ``values["params"]``)."""
    names = placeholders(template)
    if len(names) == 1 and template == f"{{{names[0]}}}":
        value = _value(names[0], values)
        if isinstance(value, (list, dict)):
            return value
    return _TOKEN.sub(lambda m: _piece(m, values), template)


def fill_all(value: Any, values: Mapping[str, Any]) -> Any:
    """Every text inside ``value`` (mappings and lists walked, keys left as written) filled; other values kept."""
    if isinstance(value, str):
        return fill(value, values)
    if isinstance(value, list):
        return [fill_all(item, values) for item in value]
    if isinstance(value, dict):
        return {key: fill_all(item, values) for key, item in value.items()}
    return value


def templates_in(value: Any, path: str) -> list[tuple[str, str]]:
    """Each text inside ``value`` with its path (``payload.result``, ``to[0]``): what ``jetnb check`` reads."""
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, list):
        return [found for index, item in enumerate(value) for found in templates_in(item, f"{path}[{index}]")]
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in templates_in(item, f"{path}.{key}")]
    return []


def as_text(value: Any) -> str:
    """How a value reads inside a sentence."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return ", ".join(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _piece(match: re.Match[str], values: Mapping[str, Any]) -> str:
    token = match.group(0)
    if token in ("{{", "}}"):
        return token[0]
    return as_text(_value(match.group(1), values))


def _value(name: str, values: Mapping[str, Any]) -> Any:
    if name.startswith(PARAMS_PREFIX):
        params = values.get("params") or {}
        key = name[len(PARAMS_PREFIX):]
        if key not in params:
            raise TemplateError(f"{{{name}}}: the run has no parameter {key!r}")
        return params[key]
    if name not in values:
        raise TemplateError(f"{{{name}}}: no such field here (known: {', '.join(sorted(values))})")
    return values[name]
