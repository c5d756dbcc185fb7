"""YAML and JSON text as jetnb reads it: no anchors or aliases, bounded nesting, numbers Python can hold.

Everything jetnb reads as YAML or JSON from a person or a sender goes
through here: the ``%%workflow`` cell, parameter values given as text and
the ``-f`` parameters file. Anchors and aliases are refused because a few
hundred bytes of them expand into megabytes once the value is copied or
written out ("billion laughs"); nesting is bounded because parsers and the
walks after them recurse; an integer literal is bounded because Python
refuses to read one of more than 4300 digits.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from ..quoting import shown
from .json_values import MAX_DEPTH

MAX_NUMBER_CHARS = 100  # an integer literal longer than this is a typo or an attack, never a count


class TextError(ValueError):
    """YAML or JSON that jetnb will not read; the message says where (line) and why."""


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, whose integers are bounded before Python converts them and whose dates are checked."""


class _FastLoader(getattr(yaml, "CSafeLoader", _Loader)):  # type: ignore[misc]
    """The same with libyaml's parser (five times faster); its error marks can point past the mistake."""


def _bounded_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    if len(node.value) > MAX_NUMBER_CHARS:
        raise yaml.constructor.ConstructorError(
            None, None, f"a number of more than {MAX_NUMBER_CHARS} characters", node.start_mark)
    return loader.construct_yaml_int(node)


def _checked_timestamp(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Any:
    try:
        return loader.construct_yaml_timestamp(node)
    except (ValueError, AttributeError) as exc:  # 2026-02-30 matches the date pattern but is no date; !!timestamp x
        reason = f" ({exc})" if isinstance(exc, ValueError) else ""
        raise yaml.constructor.ConstructorError(None, None, f"not a valid date {shown(node.value)}{reason}",
                                                node.start_mark) from None


for _loader in (_Loader, _FastLoader):
    _loader.add_constructor("tag:yaml.org,2002:int", _bounded_int)
    _loader.add_constructor("tag:yaml.org,2002:timestamp", _checked_timestamp)


def load_yaml(text: str) -> Any:
    """One YAML document; TextError for bad YAML (with its line), anchors, aliases and deep nesting."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:  # e.g. a command-line argument that was not UTF-8
        raise TextError(f"character {exc.start + 1} is an unpaired surrogate ({text[exc.start]!r}), not text") from None
    try:
        return _load(text, _FastLoader)
    except yaml.YAMLError:  # read again by the pure-Python parser, whose marks point at the mistake
        try:
            return _load(text, _Loader)
        except yaml.YAMLError as exc:
            raise TextError(_yaml_reason(exc)) from None


def _load(text: str, loader: type[yaml.SafeLoader]) -> Any:
    """The events are read first only when the text could hold an anchor or nest too deep: otherwise it is parsed
    once (a served folder's ``%%workflow`` cells are parsed by the thousand)."""
    if "&" in text or _could_nest_deeper(text):
        _refuse_aliases_and_depth(text, loader)
    try:
        return yaml.load(text, Loader=loader)
    except yaml.YAMLError:
        _refuse_aliases_and_depth(text, loader)  # an alias of no anchor is refused as an alias, as any other
        raise
    except (ValueError, TypeError, OverflowError, IndexError, KeyError, AttributeError) as exc:  # PyYAML's own
        raise TextError(f"cannot read a value: {shown(str(exc) or type(exc).__name__)}") from None  # on !!int x


def _could_nest_deeper(text: str) -> bool:
    """Whether ``text`` has enough of the characters that open a collection (``[ { - : ?``: every list or mapping
    needs one) to nest more than ``MAX_DEPTH`` levels."""
    return sum(text.count(c) for c in "[{-:?") > MAX_DEPTH


def _refuse_aliases_and_depth(text: str, loader: type[yaml.SafeLoader]) -> None:
    """Read the events only (no values are built) and stop at the first anchor, alias or level too deep."""
    depth = 0
    for event in yaml.parse(text, Loader=loader):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise TextError(f"line {line}: YAML aliases (*{_anchor(event)}) are not allowed; write the value out")
        if getattr(event, "anchor", None):
            raise TextError(f"line {line}: YAML anchors (&{_anchor(event)}) are not allowed; write the value out")
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                raise TextError(f"line {line}: nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1


def _anchor(event: yaml.NodeEvent) -> str:
    return str(event.anchor)[:40]


def _yaml_reason(exc: yaml.YAMLError) -> str:
    """``line N: problem``, plus where the unfinished part began when that is another line (an unclosed ``[``)."""
    mark, context = getattr(exc, "problem_mark", None), getattr(exc, "context_mark", None)
    where = f"line {mark.line + 1}: " if mark is not None else ""
    began = ""
    if mark is not None and context is not None and context.line != mark.line and getattr(exc, "context", None):
        began = f" ({exc.context} that began on line {context.line + 1})"
    return where + (getattr(exc, "problem", None) or str(exc)) + began


def load_json(text: str) -> Any:
    """Strict JSON: no NaN or Infinity, integer literals bounded, nesting bounded; TextError says where."""
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as exc:
        raise TextError(f"line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise TextError(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # raised by the hooks below, already worded
        raise TextError(str(exc)) from None
    if deeper_than(value, MAX_DEPTH):
        raise TextError(f"nested deeper than {MAX_DEPTH} levels")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _json_int(digits: str) -> int:
    if len(digits) > MAX_NUMBER_CHARS:
        raise ValueError(f"a number of more than {MAX_NUMBER_CHARS} characters")
    return int(digits)


_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_int=_json_int)  # built once: json.loads with hooks
# builds a decoder per call


def load_json_or_yaml(text: str) -> Any:
    """JSON when the text is JSON (fast, exact), else YAML (a superset people type more easily)."""
    try:
        return load_json(text)
    except TextError:
        return load_yaml(text)


def deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and mappings nest more than ``limit`` levels; iterative, so any depth is safe to ask about."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False
