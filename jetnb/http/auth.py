"""Who may call: the API token, and each webhook's own HMAC signature or bearer token.

Secrets are compared with ``hmac.compare_digest`` so the time an answer takes
says nothing about how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
from typing import Any, Mapping

log = logging.getLogger("jetnb.serve")


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of ``Authorization: Bearer T`` (or Jupyter's ``token T``)."""
    scheme, _, value = (headers.get("Authorization") or "").partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "token") and value.strip() else None


def same_secret(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def signature_matches(secret: str, body: bytes, header: str | None) -> bool:
    """HMAC-SHA256 of the raw body, as hex; GitHub's ``sha256=<hex>`` form is accepted."""
    if not header:
        return False
    given = header.strip()
    if given.lower().startswith("sha256="):
        given = given[len("sha256="):]
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given.lower().encode(), expected.encode())


def hook_refusal(hook: dict[str, Any], headers: Mapping[str, str], body: bytes) -> str | None:
    """Why a webhook request is not authenticated, or None when it is."""
    if hook["auth"] == "none":
        return None
    secret = os.environ.get(hook["secret_env"] or "")
    if not secret:
        log.error("webhook %s: environment variable %s is not set on the server; refusing every request until it is",
                  hook["name"], hook["secret_env"])
        return "the server has no secret for this webhook"
    if hook["auth"] == "token":
        return None if same_secret(bearer(headers), secret) else "missing or wrong bearer token"
    header = hook["signature_header"]
    return None if signature_matches(secret, body, headers.get(header)) else f"missing or wrong signature in {header}"
