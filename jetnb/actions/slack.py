"""``slack.send``: post a message through a Slack incoming webhook.

The hook URL is the credential (anyone holding it can post), so it is best
left out of the notebook: without ``webhook_url`` the action reads the
secret ``SLACK_WEBHOOK_URL``. Messages and events show it as
``https://hooks.slack.com/services/***``.
"""

from __future__ import annotations

from typing import Any

from .errors import ActionError
from .http import exchange
from .record import recorded
from .redact import masked
from .settings import from_secret, json_body
from .settings import text as check_text


def send(text: str = "", *, blocks: list[dict[str, Any]] | None = None, webhook_url: str | None = None,
         timeout: float = 10, retries: int = 3, backoff: float = 0.5) -> None:
    """Post ``text`` (and Block Kit ``blocks``, which then need ``text`` only as the notification's fallback).

    Slack answers ``ok``; an error answer (``invalid_payload``,
    ``no_service``...) raises ``HTTPStatusError`` with Slack's reason.
    Retries and timeouts as ``http.request``. Recorded as ``slack.send``.
    """
    __tracebackhide__ = True
    with recorded("slack.send") as call:
        check_text("text", text, empty=blocks is not None)
        if blocks is not None and not isinstance(blocks, list):
            raise TypeError(f"blocks: expected a list of Block Kit blocks, got {type(blocks).__name__}")
        url = webhook_url if webhook_url is not None else from_secret("SLACK_WEBHOOK_URL", "webhook_url")
        payload = {"text": text, **({"blocks": blocks} if blocks is not None else {})}
        answer = exchange("POST", url, call=call, headers={"Content-Type": "application/json"}, timeout=timeout,
                          retries=retries, backoff=backoff, argument="webhook_url",
                          data=json_body("text, blocks", payload))
        if isinstance(answer.body, dict) and answer.body.get("ok") is False:  # workflow hooks answer JSON
            raise ActionError(f"POST {masked(url)}: Slack refused the message: {answer.body.get('error')}")
