"""``webhook.send``: deliver a JSON payload to a catch hook (Zapier, Make, n8n) or any receiver, signed if asked.

Every delivery gets an id (``webhook-id``) and a timestamp
(``webhook-timestamp``); with a ``secret`` it is signed the Standard
Webhooks way (``webhook-signature: v1,...``, see ``jetnb.signing``), so a
receiver can check where it came from, refuse a replay, and drop a retry it
has already handled. Retries carry the same id and the same body bytes; the
timestamp and signature are made fresh at each attempt, so a delivery that
waited through backoff is not refused as stale.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .. import signing
from .http import Response, exchange
from .record import recorded
from .settings import json_body

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


@dataclass(frozen=True)
class Delivery:
    """A delivered webhook: its ``id`` (the receiver's ``webhook-id``) and the receiver's answer."""

    id: str
    response: Response


def send(url: str, payload: Any, *, secret: str | bytes | None = None, headers: Mapping[str, str] | None = None,
         timeout: float = 10, retries: int = 3, backoff: float = 0.5) -> Delivery:
    """POST ``payload`` as JSON to ``url``; ``secret`` (``whsec_<base64>`` or plain text) signs it.

    Retries, errors and ``timeout``/``backoff`` are those of
    ``http.request``. Recorded as ``webhook.send`` with the host, the
    delivery id and the answer's status.
    """
    __tracebackhide__ = True
    with recorded("webhook.send") as call:
        body = json_body("payload", payload)
        key = None if secret is None else signing.secret_key(secret)
        delivery_id = new_delivery_id()
        call.detail["delivery_id"] = delivery_id

        def stamped() -> dict[str, str]:
            return {"Content-Type": "application/json", **(headers or {}),
                    **signing.signed_headers(key, delivery_id, body)}

        response = exchange("POST", url, call=call, headers=stamped, timeout=timeout, retries=retries,
                            backoff=backoff, data=body)
        return Delivery(delivery_id, response)


def new_delivery_id() -> str:
    """``msg_`` + a ULID (48 bits of milliseconds, 80 random bits, Crockford base32): unique and sortable by time."""
    value = (time.time_ns() // 1_000_000) << 80 | secrets.randbits(80)
    return "msg_" + "".join(_CROCKFORD[(value >> shift) & 31] for shift in range(125, -1, -5))
