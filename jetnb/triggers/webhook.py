"""The ``webhook`` trigger: deliveries to ``POST /hooks/<name>``, authenticated by HMAC signature or bearer token.

The HTTP side (``jetnb.http.hooks``) receives deliveries; this module only
says what a webhook's declaration holds, and checks that the parameters its
``payload``, ``headers`` and ``pick`` fill are declared to take them.
"""

from __future__ import annotations

from typing import Any

from ..fields import Field, choice, duration, mapping, size, slug, text
from ..quoting import shown
from .base import PARAMS, PushKind
from .body_paths import path_keys


def _parameter_name(value: Any) -> str:
    if not isinstance(value, str) or not value.isidentifier():
        raise ValueError(f"expected the name of a declared parameter, got {shown(value)}")
    return value


def _picks(value: Any) -> dict[str, str]:
    """``pick``: parameter name -> path in the body."""
    for name, path in mapping(value).items():
        _parameter_name(name)
        path_keys(path)
    return value


BINDINGS = ("payload", "headers")  # keys naming a parameter that takes a whole part of the request


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
        "payload": Field(_parameter_name, help="a dict parameter that takes the whole body"),
        "headers": Field(_parameter_name, help="a dict parameter that takes the request's headers"),
        "pick": Field(_picks, default={}, help="parameter -> path of a value in the body (data.object.id)"),
    }

    def check(self, spec: dict[str, Any], where: str, problems: list[str]) -> None:
        if spec.get("auth") in ("hmac", "token") and not spec.get("secret_env"):
            problems.append(f"{where}.secret_env: required with auth: {spec['auth']}")
        bound = [spec[key] for key in BINDINGS if spec.get(key)] + list(spec.get("pick") or {})
        for name in sorted({n for n in bound if bound.count(n) > 1}):
            problems.append(f"{where}: parameter {name!r} is filled twice (payload, headers and pick each fill "
                            "their own parameter)")

    def parameter_problems(self, spec: dict[str, Any], declared: dict[str, str]) -> list[str]:
        found = []
        for key in BINDINGS:
            name = spec.get(key)
            if name and declared.get(name) != "dict":
                has = f"is declared {declared[name]}" if name in declared else "is not declared"
                found.append(f"{key}: parameter {name!r} {has}; declare it in the parameters cell as "
                             f"`{name}: dict = {{}}`")
        found += [f"pick.{name}: no parameter {name!r} (declared: {', '.join(declared) or 'none'})"
                  for name in spec.get("pick") or {} if name not in declared]
        return found

    def key(self, spec: dict[str, Any]) -> str:
        return f"webhook:{spec['name']}"

    def label(self, spec: dict[str, Any]) -> str:
        return f"webhook POST /hooks/{spec.get('name')} ({spec.get('auth')})"
