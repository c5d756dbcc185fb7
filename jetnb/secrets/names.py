"""What a secret may be called: an environment-variable-like name, not one of jetnb's own variables."""

from __future__ import annotations

import re
from typing import Any

NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")
RESERVED_PREFIX = "JETNB_"  # JETNB_TOKEN, JETNB_SECRETS_FILE...: jetnb's own credentials and settings


def secret_name(value: Any) -> str:
    """A valid secret name; ValueError saying what is wrong otherwise."""
    if not isinstance(value, str) or not NAME_RE.fullmatch(value):
        raise ValueError(f"{value!r} is not a valid secret name (letters, digits and '_', not starting with a "
                         "digit, as environment variables are named)")
    if value.upper().startswith(RESERVED_PREFIX):
        raise ValueError(f"{value!r}: names starting with {RESERVED_PREFIX} are jetnb's own settings and credentials, "
                         "never a workflow's secrets")
    return value


def secret_names(value: Any) -> list[str]:
    """The ``secrets`` key of ``%%workflow``: a list of distinct secret names."""
    if not isinstance(value, list):
        raise ValueError(f"expected a list of secret names, e.g. [STRIPE_KEY, SLACK_WEBHOOK], got "
                         f"{type(value).__name__}")
    names = [secret_name(item) for item in value]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ValueError(f"{', '.join(twice)} declared twice")
    return names
