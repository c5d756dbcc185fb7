"""Arguments an action may take from configuration, and the checks every action makes on its own arguments.

A hook URL or an SMTP URL is a secret: a workflow should not write it in a
cell. When the argument is left out, the action reads the secret of the
same name (``SMTP_URL``, ``SLACK_WEBHOOK_URL``) through ``jetnb.secret``, so
the workflow declares it (``secrets:`` in ``%%workflow``) like any other.
The lookup happens at each call, on the ``jetnb`` package as it is then, so
a lookup set in a test is used without changing actions.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit


def from_secret(name: str, argument: str) -> str:
    """The secret ``name`` for ``argument``; a clear error naming both when it is not declared or not set."""
    import jetnb

    try:
        value = jetnb.secret(name)
    except LookupError as exc:  # jetnb.secret's SecretError says which, and where values come from
        raise ValueError(f"{argument}: not given, and {exc}") from None
    if not value:
        raise ValueError(f"{argument}: not given, and the secret {name} is not set")
    return str(value)


def seconds(argument: str, value: Any, *, zero: bool = False) -> float:
    """A number of seconds: > 0 (``timeout``), or >= 0 with ``zero`` (``backoff``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0 or (value == 0 and not zero):
        raise ValueError(f"{argument}: expected a number of seconds {'>=' if zero else '>'} 0, got {value!r}")
    return float(value)


def count(argument: str, value: Any) -> int:
    """A whole number >= 0 (``retries``)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{argument}: expected a whole number >= 0, got {value!r}")
    return value


def text(argument: str, value: Any, *, empty: bool = False) -> str:
    """A string argument (``subject``, ``sql``...), non-empty unless ``empty``."""
    if not isinstance(value, str):
        raise TypeError(f"{argument}: expected text, got {type(value).__name__}")
    if not empty and not value.strip():
        raise ValueError(f"{argument}: must not be empty")
    return value


def json_body(argument: str, value: Any) -> bytes:
    """``value`` as compact UTF-8 JSON, encoded once (a signed body must be the same bytes at every attempt)."""
    try:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{argument}: not JSON ({exc})") from None


def url_text(argument: str, value: Any) -> str:
    """A URL that parses, host and port included; the parser's own message is not shown (it can quote a password)."""
    if not isinstance(value, str):
        raise TypeError(f"{argument}: expected a URL, got {type(value).__name__}")
    try:
        _ = urlsplit(value).port  # parsing the port checks the host part too
    except ValueError:
        raise ValueError(f"{argument}: not a valid URL (check its host and port)") from None
    return value
