"""Paths into a webhook's body (``data.object.metadata.order_id``), for a hook's ``pick:`` mapping.

A path is keys separated by dots; a key is letters, digits, ``_`` and ``-``
(the keys GitHub, Stripe and form builders use); a key of digits indexes a
list (``commits.0.id``). Nothing else is read: a path cannot call anything
or reach outside the body. The check is static (``jetnb check``), the pick
happens per delivery, and a path the body lacks says where it stopped.
"""

from __future__ import annotations

import re
from typing import Any

from ..quoting import shown

_KEY = re.compile(r"[A-Za-z0-9_-]{1,100}")
MAX_KEYS = 32


class MissingPath(LookupError):
    """The body has nothing at the path; the message says where the path stopped."""


def path_keys(value: Any) -> tuple[str, ...]:
    """The keys of a well-formed path; ValueError saying what is wrong."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"expected a path such as data.object.id, got {shown(value)}")
    keys = tuple(value.split("."))
    if len(keys) > MAX_KEYS:
        raise ValueError(f"{shown(value)}: at most {MAX_KEYS} keys")
    bad = next((key for key in keys if not _KEY.fullmatch(key)), None)
    if bad is not None:
        raise ValueError(f"{shown(value)} is not a path: keys are letters, digits, '_' and '-' separated by dots "
                         f"(at {shown(bad)})")
    return keys


def pick(body: Any, path: str) -> Any:
    """The value at ``path`` in ``body``; MissingPath naming the part of the path that is there and what is not."""
    value = body
    keys = path_keys(path)
    for depth, key in enumerate(keys):
        where = ".".join(keys[:depth]) or "the body"
        if isinstance(value, dict):
            if key not in value:
                raise MissingPath(f"{where} has no key {key!r}")
            value = value[key]
        elif isinstance(value, list) and key.isdigit():
            if int(key) >= len(value):
                raise MissingPath(f"{where} has {len(value)} item(s), no item {key}")
            value = value[int(key)]
        else:
            raise MissingPath(f"{where} is {_kind(value)}, not an object with key {key!r}")
    return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "text", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number")
