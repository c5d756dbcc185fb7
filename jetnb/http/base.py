"""What every handler shares: the control plane, JSON answers (errors too), and reading a JSON body."""

from __future__ import annotations

import json
from typing import Any

import tornado.web

from ..control.plane import ControlPlane
from ..model.datatext import TextError, load_json


class BadBody(ValueError):
    """A request body that is not the JSON object expected; the message is the reason given with the 400."""


class JsonHandler(tornado.web.RequestHandler):
    @property
    def plane(self) -> ControlPlane:
        return self.settings["plane"]

    def answer(self, status: int, payload: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(payload, default=str))

    def refuse(self, status: int, message: str, **extra: Any) -> None:
        self.answer(status, {"error": message, **extra})

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.refuse(status_code, self._reason)

    def check_xsrf_cookie(self) -> None:
        """Callers authenticate with tokens and signatures, never cookies, so there is nothing to forge."""


def json_object(body: bytes) -> dict[str, Any]:
    """An empty body is ``{}``; anything else must be a JSON object."""
    if not body.strip():
        return {}
    try:
        value = load_json(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise BadBody("malformed JSON: the body is not UTF-8") from None
    except TextError as exc:
        raise BadBody(f"malformed JSON: {exc}") from None
    if not isinstance(value, dict):
        raise BadBody(f"expected a JSON object, got {type(value).__name__}")
    return value


class NotFound(JsonHandler):
    def prepare(self) -> None:
        self.refuse(404, f"no such endpoint: {self.request.method} {self.request.path}")
