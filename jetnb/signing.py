"""Webhook signatures: Standard Webhooks and GitHub's ``sha256=`` HMAC, to sign what jetnb sends and check what it gets.

Standard Webhooks (standardwebhooks.com, used by Svix, Zapier-style
receivers and more) signs ``"{id}.{timestamp}.{body}"`` with HMAC-SHA256 and
sends three headers: ``webhook-id``, ``webhook-timestamp`` and
``webhook-signature: v1,<base64>``. The timestamp lets a receiver refuse a
replayed delivery once it is older than a few minutes; the id lets it drop a
retry it has already handled. GitHub-style hooks send the hex HMAC of the
body alone as ``X-Hub-Signature-256: sha256=<hex>``. Stripe sends
``Stripe-Signature: t=<timestamp>,v1=<hex HMAC of "timestamp.body">``, keyed
with the endpoint secret as written (``whsec_...`` is not decoded).

This module is bottom-level (standard library only): the webhook action
signs with it and ``jetnb serve``'s hooks verify with it. Every comparison is
``hmac.compare_digest``, so the time an answer takes says nothing about how
close a forged signature was.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Mapping
from typing import Literal

Secret = str | bytes
Reason = Literal["missing_header", "bad_signature", "bad_timestamp", "stale_timestamp", "future_timestamp"]

SECRET_PREFIX = "whsec_"
TOLERANCE = 300  # seconds a timestamp may be away from now, either way (the spec's five minutes)
ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER = "webhook-id", "webhook-timestamp", "webhook-signature"
HUB_PREFIX = "sha256="
STRIPE_HEADER = "Stripe-Signature"


class SignatureError(ValueError):
    """A signature that does not hold; ``reason`` is a short code for logs and answers, the message says why."""

    def __init__(self, reason: Reason, message: str):
        super().__init__(message)
        self.reason: Reason = reason


def secret_key(secret: Secret) -> bytes:
    """The HMAC key: ``whsec_<base64>`` is decoded as the spec says, other text is used as UTF-8, bytes as they are."""
    if isinstance(secret, bytes):
        key = secret
    elif isinstance(secret, str) and secret.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(secret[len(SECRET_PREFIX):], validate=True)
        except binascii.Error:
            raise ValueError(f"secret: a {SECRET_PREFIX} secret must be base64 after the prefix") from None
    elif isinstance(secret, str):
        key = secret.encode()
    else:
        raise TypeError(f"secret: expected text or bytes, got {type(secret).__name__}")
    if not key:
        raise ValueError("secret: must not be empty")
    return key


def sign(secret: Secret, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one delivery: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``."""
    content = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(secret_key(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(secret: Secret | None, msg_id: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The three Standard Webhooks headers (only id and timestamp without a secret), stamped now unless told."""
    stamp = int(time.time()) if timestamp is None else timestamp
    headers = {ID_HEADER: msg_id, TIMESTAMP_HEADER: str(stamp)}
    if secret is not None:
        headers[SIGNATURE_HEADER] = sign(secret, msg_id, stamp, body)
    return headers


def verify(secret: Secret, body: bytes, headers: Mapping[str, str], *, tolerance: float = TOLERANCE,
           now: float | None = None) -> str:
    """Check a Standard Webhooks delivery and return its ``webhook-id`` (to drop a retry already handled).

    Raises ``SignatureError`` naming what is wrong: a missing header, a
    timestamp that is not a number or is more than ``tolerance`` seconds
    old (a replay) or ahead, or no ``v1`` signature that matches.
    """
    values = {name: _header(headers, name) or "" for name in (ID_HEADER, TIMESTAMP_HEADER, SIGNATURE_HEADER)}
    missing = [name for name, value in values.items() if not value.strip()]
    if missing:
        raise SignatureError("missing_header", f"missing header {', '.join(missing)}")
    msg_id = values[ID_HEADER].strip()
    timestamp = _timestamp(values[TIMESTAMP_HEADER], tolerance, time.time() if now is None else now)
    expected = sign(secret, msg_id, timestamp, body).encode()
    offered = [s for s in values[SIGNATURE_HEADER].split() if s.startswith("v1,")]  # several while a key rotates
    if not any(hmac.compare_digest(s.encode(), expected) for s in offered):
        raise SignatureError("bad_signature", f"{SIGNATURE_HEADER} does not match the body" if offered
                             else f"{SIGNATURE_HEADER} has no v1 signature")
    return msg_id


def sign_hub(secret: Secret, body: bytes) -> str:
    """GitHub's ``X-Hub-Signature-256`` value: ``sha256=<hex HMAC-SHA256 of the body>``."""
    return HUB_PREFIX + hmac.new(secret_key(secret), body, hashlib.sha256).hexdigest()


def verify_hub(secret: Secret, body: bytes, header: str | None) -> None:
    """Check a GitHub-style signature (``sha256=<hex>``, or the bare hex); raises ``SignatureError`` when it fails."""
    if not header or not header.strip():
        raise SignatureError("missing_header", "missing signature header")
    given = header.strip().lower()
    given = given.removeprefix(HUB_PREFIX)
    if not hmac.compare_digest(given.encode(), sign_hub(secret, body)[len(HUB_PREFIX):].encode()):
        raise SignatureError("bad_signature", "signature does not match the body")


def sign_stripe(secret: str, timestamp: int, body: bytes) -> str:
    """A ``Stripe-Signature`` value: ``t=<timestamp>,v1=<hex HMAC-SHA256 of "timestamp.body">``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify_stripe(secret: str, body: bytes, header: str | None, *, tolerance: float = TOLERANCE,
                  now: float | None = None) -> int:
    """Check a Stripe delivery's ``Stripe-Signature`` and return its timestamp; raises ``SignatureError``.

    Several ``v1`` signatures are accepted (while a secret rolls); ``v0``
    (test-mode, SHA-1 era) ones are ignored, as Stripe's libraries do.
    """
    parts = [item.partition("=") for item in (header or "").split(",")]
    stamps = [value.strip() for key, _, value in parts if key.strip() == "t"]
    offered = [value.strip() for key, _, value in parts if key.strip() == "v1"]
    if not stamps or not offered:
        missing = " and ".join(key for key, found in (("t=", stamps), ("v1=", offered)) if not found)
        raise SignatureError("missing_header", f"{STRIPE_HEADER} is missing or has no {missing}")
    timestamp = _timestamp(stamps[0], tolerance, time.time() if now is None else now, f"{STRIPE_HEADER} t=")
    expected = sign_stripe(secret, timestamp, body).partition(",v1=")[2].encode()
    if not any(hmac.compare_digest(value.encode(), expected) for value in offered):
        raise SignatureError("bad_signature", f"{STRIPE_HEADER} does not match the body")
    return timestamp


def _header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by name, whatever its case (a plain dict is not case-insensitive as HTTP headers are)."""
    value = headers.get(name)
    if value is None:
        value = next((v for k, v in headers.items() if k.lower() == name), None)
    return value


def _timestamp(text: str, tolerance: float, now: float, what: str = TIMESTAMP_HEADER) -> int:
    try:
        stamp = int(text.strip())
    except ValueError:
        raise SignatureError("bad_timestamp", f"{what} is not a Unix time in seconds") from None
    if now - stamp > tolerance:
        raise SignatureError("stale_timestamp", f"{what} is {now - stamp:.0f}s old, more than the "
                                                f"{tolerance:.0f}s allowed (a replayed delivery?)")
    if stamp - now > tolerance:
        raise SignatureError("future_timestamp", f"{what} is {stamp - now:.0f}s in the future, more "
                                                 f"than the {tolerance:.0f}s allowed")
    return stamp
