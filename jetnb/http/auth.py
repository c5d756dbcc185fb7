"""Who may call, and as whom: personal tokens and the server token for the API and pages; each webhook's own
signature (Standard Webhooks, GitHub's or Stripe's) or bearer token.

Secrets are compared with ``hmac.compare_digest`` so the time an answer takes
says nothing about how much of a guess was right.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import time
from dataclasses import dataclass
from typing import Any, Mapping

from ..protocol import Principal
from ..model.datatext import TextError, load_json
from ..signing import SIGNATURE_HEADER, STRIPE_HEADER, SignatureError, verify, verify_hub, verify_stripe
from ..store import Store

log = logging.getLogger("jetnb.serve")
ADMIN = "admin"  # who the server token acts as


def bearer(headers: Mapping[str, str]) -> str | None:
    """The token of ``Authorization: Bearer T`` (or Jupyter's ``token T``)."""
    scheme, _, value = (headers.get("Authorization") or "").partition(" ")
    return value.strip() if scheme.lower() in ("bearer", "token") and value.strip() else None


def same_secret(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


def principal_for(token: str | None, server_token: str, store: Store) -> Principal | None:
    """The server token is the administrator; a personal token is its user; anything else is nobody."""
    if not token:
        return None
    if same_secret(token, server_token):
        return Principal(ADMIN, admin=True)
    return store.authenticate(token)


class HookRefused(Exception):
    """A webhook delivery that is not authenticated; the message is the 401's reason."""


@dataclass(frozen=True)
class Verified:
    """What an authenticated delivery proves beyond its body."""

    delivery_id: str | None = None  # the signed ``webhook-id`` of a Standard Webhooks delivery
    replay_key: str | None = None  # a GitHub-signed body's digest: the same body under another id is a replay


def verify_hook(hook: dict[str, Any], headers: Mapping[str, str], body: bytes) -> Verified:
    """Check a delivery against the hook's ``auth``; raises HookRefused with the reason."""
    if hook["auth"] == "none":
        return Verified()
    secret = os.environ.get(hook["secret_env"] or "")
    if not secret:
        log.error("webhook %s: environment variable %s is not set on the server; refusing every request until it is",
                  hook["name"], hook["secret_env"])
        raise HookRefused("the server has no secret for this webhook")
    if hook["auth"] == "token":
        if not same_secret(bearer(headers), secret):
            raise HookRefused("missing or wrong bearer token")
        return Verified()
    return _signed(hook, secret, headers, body)


def _signed(hook: dict[str, Any], secret: str, headers: Mapping[str, str], body: bytes) -> Verified:
    scheme = hook.get("scheme") or "any"
    if scheme == "stripe":
        return _stripe(hook, secret, headers, body)
    standard = scheme == "standard" or (scheme == "any" and headers.get(SIGNATURE_HEADER) is not None)
    if standard:
        try:
            return Verified(delivery_id=verify(secret, body, headers, tolerance=float(hook.get("tolerance") or 300),
                                               now=time.time()))
        except SignatureError as exc:
            raise HookRefused(f"Standard Webhooks signature refused: {exc}") from None
    header = hook.get("signature_header") or "X-Hub-Signature-256"
    try:
        verify_hub(secret, body, headers.get(header))
    except SignatureError:
        raise HookRefused(f"missing or wrong signature in {header}") from None
    return Verified(replay_key="sha256:" + hashlib.sha256(body).hexdigest())


def _stripe(hook: dict[str, Any], secret: str, headers: Mapping[str, str], body: bytes) -> Verified:
    """A Stripe delivery: its signed timestamp bounds replays; the event's ``id`` (signed, in the body) is the
    delivery id, so Stripe's retries of one event start one run."""
    try:
        stamp = verify_stripe(secret, body, headers.get(STRIPE_HEADER), tolerance=float(hook.get("tolerance") or 300),
                              now=time.time())
    except SignatureError as exc:
        raise HookRefused(f"Stripe signature refused: {exc}") from None
    try:
        event = load_json(body.decode("utf-8"))
    except (UnicodeDecodeError, TextError):
        event = None
    event_id = event.get("id") if isinstance(event, dict) else None
    digest = hashlib.sha256(f"{stamp}.".encode() + body).hexdigest()
    return Verified(delivery_id=event_id if isinstance(event_id, str) and event_id else None,
                    replay_key=f"stripe:{digest}")
