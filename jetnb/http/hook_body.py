"""What a webhook delivery gives its run's parameters: the trigger's ``params``, the query string, and the body —
a JSON object or form fields — read one of two ways.

- **As parameters** (a hook without ``payload`` or ``pick``): every body key
  is a parameter the notebook must declare, as always.
- **As data** (a hook with ``payload`` and/or ``pick``): the body is what
  another system sent (a GitHub push, a Stripe event), so its keys are not
  parameters; ``payload: NAME`` hands the whole body to the ``dict``
  parameter ``NAME`` and ``pick: {order_id: data.object.metadata.order_id}``
  takes single values by path. A path the body lacks is a 422 naming it.

``headers: NAME`` hands the request's headers (names lower-cased) to a
``dict`` parameter, without the ones that carry credentials
(``CREDENTIAL_HEADERS`` and the hook's own ``signature_header``).

JSON values are typed (a ``"3"`` stays text); form fields are text and are
parsed by the declared type, as query strings are. Later sources win:
``params``, then the query string, then what the body gives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from ..model.params import ParameterError, Typed, typed
from ..triggers.body_paths import MissingPath, pick
from .base import BadBody, json_object

FORM = "application/x-www-form-urlencoded"
MAX_FORM_FIELDS = 1000
CREDENTIAL_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "webhook-signature",
                                "x-hub-signature", "x-hub-signature-256", "stripe-signature"})


@dataclass(frozen=True)
class Body:
    """A delivery's body as a mapping; ``text`` when its values are form text (parsed by type) rather than JSON."""

    values: dict[str, Any]
    text: bool = False

    def source(self, values: dict[str, Any]) -> dict[str, Any]:
        """``values`` from this body as the parameter validator must read them: text, or typed."""
        return dict(values) if self.text else typed(values)


def read_body(raw: bytes, content_type: str | None) -> Body:
    """A form body (by its ``Content-Type``) or else a JSON object; BadBody (a 400) saying why not."""
    if (content_type or "").split(";")[0].strip().lower() != FORM:
        return Body(json_object(raw))
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadBody("malformed form: the body is not UTF-8") from None
    try:
        fields = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FORM_FIELDS)
    except ValueError:
        raise BadBody(f"malformed form: more than {MAX_FORM_FIELDS} fields") from None
    return Body(dict(fields), text=True)  # a repeated field: the last one counts, as in query strings


def delivery_params(hook: dict[str, Any], body: Body, headers: Iterable[tuple[str, str]],
                    query: dict[str, str]) -> dict[str, Any]:
    """The run's parameters for one delivery; ParameterError when a picked path is not in the body."""
    params: dict[str, Any] = {**typed(hook.get("params") or {}), **query}
    if not (hook.get("payload") or hook.get("pick")):
        params.update(body.source(body.values))
    params.update(_picked(hook.get("pick") or {}, body))
    if hook.get("payload"):
        params[hook["payload"]] = Typed(body.values)
    if hook.get("headers"):
        params[hook["headers"]] = Typed(_headers(headers, hook.get("signature_header")))
    return params


def _picked(picks: dict[str, str], body: Body) -> dict[str, Any]:
    values, problems = {}, []
    for name, path in picks.items():
        try:
            values[name] = pick(body.values, path)
        except MissingPath as exc:
            problems.append(f"parameter {name!r}: nothing at {path} in the body ({exc})")
    if problems:
        raise ParameterError(problems)
    return body.source(values)


def _headers(headers: Iterable[tuple[str, str]], signature_header: str | None) -> dict[str, str]:
    """Lower-cased names; a repeated header's values joined with ``, ``; credentials and signatures left out."""
    hidden = CREDENTIAL_HEADERS | ({signature_header.lower()} if signature_header else set())
    found: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key not in hidden:
            found[key] = f"{found[key]}, {value}" if key in found else value
    return found
