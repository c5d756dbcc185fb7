"""The ``webhook`` trigger: deliveries to ``POST /hooks/<name>``, authenticated by HMAC signature or bearer token.

The HTTP side (``jetnb.http.hooks``) receives deliveries; this module only
says what a webhook's declaration holds.
"""

from __future__ import annotations

from typing import Any

from ..fields import Field, choice, duration, size, slug, text
from .base import PARAMS, PushKind


class WebhookKind(PushKind):
    schema = {
        "name": Field(slug, required=True, help="served at POST /hooks/<name>"),
        "auth": Field(choice("hmac", "token", "none"), required=True, help="hmac, token, or none (explicitly)"),
        "secret_env": Field(text, help="environment variable holding the secret (hmac, token)"),
        "scheme": Field(choice("any", "standard", "github", "stripe"), default="any",
                        help="hmac: Standard Webhooks headers, GitHub's signature header, either, or Stripe's"),
        "tolerance": Field(duration, default=300.0, help="hmac, Standard Webhooks and Stripe: how far a timestamp "
                           "may be off"),
        "signature_header": Field(text, default="X-Hub-Signature-256"),
        "delivery_header": Field(text, help="header carrying the sender's delivery id"),
        "response": Field(choice("async", "sync"), default="async"),
        "timeout": Field(duration, default=30.0, help="how long a sync hook waits for the result"),
        "max_body": Field(size, default=1024 * 1024),
        "params": PARAMS,
    }

    def check(self, spec: dict[str, Any], where: str, problems: list[str]) -> None:
        if spec.get("auth") in ("hmac", "token") and not spec.get("secret_env"):
            problems.append(f"{where}.secret_env: required with auth: {spec['auth']}")

    def key(self, spec: dict[str, Any]) -> str:
        return f"webhook:{spec['name']}"

    def label(self, spec: dict[str, Any]) -> str:
        return f"webhook POST /hooks/{spec.get('name')} ({spec.get('auth')})"
