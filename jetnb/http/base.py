"""What every handler shares: the control plane, who is calling, where jetnb is mounted, JSON answers (errors too),
and reading a JSON body.

An application mounting jetnb's handlers puts three settings: ``jetnb_plane``
(what the handlers act on: ``ControlPlane`` in ``jetnb serve``, the Lab's own in
the Jupyter server extension), ``jetnb_callers`` (``callers.Callers``) and
``jetnb_root``, the URL path the routes are mounted under ("" in ``jetnb
serve``, ``{base_url}jetnb`` in JupyterLab), which links and redirects start with.
"""

from __future__ import annotations

import json
from typing import Any

import tornado.web
from tornado.log import app_log, gen_log

from ..control.plane import ControlPlane
from ..model.datatext import TextError, load_json
from .callers import Callers


class BadBody(ValueError):
    """A request body that is not the JSON object expected; the message is the reason given with the 400."""


class LogsWithoutQuery(tornado.web.RequestHandler):
    """Tornado's own log lines name the request by method, path and address only: a query string may hold a token.

    ``log_exception`` also leaves out the request's repr (which has the full
    URI and headers); the error itself is logged with its traceback on the
    server, and the client gets a one-line JSON or page answer.
    """

    def _request_summary(self) -> str:
        return f"{self.request.method} {self.request.path} ({self.request.remote_ip})"

    def log_exception(self, typ: Any, value: Any, tb: Any) -> None:
        if isinstance(value, tornado.web.HTTPError):
            if value.log_message:
                gen_log.warning("%d %s: %s", value.status_code, self._request_summary(), value.log_message)
            return
        app_log.error("Uncaught exception %s", self._request_summary(), exc_info=(typ, value, tb))


class Mounted(LogsWithoutQuery):
    @property
    def plane(self) -> ControlPlane:
        return self.settings["jetnb_plane"]

    @property
    def callers(self) -> Callers:
        return self.settings["jetnb_callers"]

    def link(self, path: str) -> str:
        """A path of jetnb's (``/ui/runs``) as a URL path on this server."""
        return self.settings["jetnb_root"] + path


class JsonHandler(Mounted):
    def answer(self, status: int, payload: Any) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(payload, default=str))

    def refuse(self, status: int, message: str, **extra: Any) -> None:
        self.answer(status, {"error": message, **extra})

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        self.refuse(status_code, self._reason)

    def check_xsrf_cookie(self) -> None:
        """Token callers need no XSRF check; callers known by a cookie (Jupyter's) do."""
        self.callers.check_api_xsrf(self)


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
