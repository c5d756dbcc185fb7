"""jetnb's REST API and web pages inside JupyterLab, under ``{base_url}jetnb/``, as the Jupyter user.

The handler classes are ``jetnb serve``'s own (``http/api.py``,
``web/pages.py``); each is mounted behind a gate class from Jupyter
(``JupyterHandler``), so Jupyter does what it does for its own handlers
before jetnb's ``prepare`` runs: check the host, resolve the caller with the
configured ``IdentityProvider`` (token, cookie, JupyterHub), send a page
visitor who is not logged in to Jupyter's login page (an API call gets 403),
check the origin and the XSRF token of a request a cookie authenticated.
``JupyterCallers`` then makes the Jupyter user a jetnb ``Principal``.

Webhooks (``/hooks/``) are not mounted: firing stays with ``jetnb serve``.
"""

from __future__ import annotations

from typing import Any

import tornado.web
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join

from ..http import api, base
from ..protocol import Principal
from ..store import Store
from ..web import pages
from .lab import Lab, principal
from .plane import LabPlane
from .serve_process import AlreadyServing


class JupyterCallers:
    """The caller is Jupyter's ``current_user``, as ``lab.principal`` makes it a jetnb user."""

    def api_caller(self, handler: tornado.web.RequestHandler, store: Store) -> Principal | None:
        user = handler.current_user
        if not user:
            return None
        return principal(user.username, store)

    page_caller = api_caller

    def check_api_xsrf(self, handler: tornado.web.RequestHandler) -> None:
        """Reached only for a request a cookie authenticated (Jupyter skips token callers): Tornado's XSRF check."""
        tornado.web.RequestHandler.check_xsrf_cookie(handler)

    def nobody(self, handler: Any, *, page: bool) -> None:
        """As Jupyter's ``@web.authenticated``: a page's GET goes to Jupyter's login page, anything else is 403."""
        tornado.web.authenticated(lambda _: None)(handler)


class PageGate(JupyterHandler):
    """Jupyter's checks, then the jetnb page; errors are Jupyter's error page (the message, never a traceback)."""


class ApiGate(JupyterHandler):
    """Jupyter's checks (as its ``APIHandler``: no login redirect, the origin checked), then the jetnb handler."""

    def get_login_url(self) -> str:
        raise tornado.web.HTTPError(403, reason="not logged in to Jupyter")

    async def prepare(self) -> None:  # type: ignore[override]
        await super().prepare()
        if not self.check_origin():
            raise tornado.web.HTTPError(404)


class StartServe(pages.Page):
    """The pages' "Start jetnb serve" button (JupyterLab only): ``jetnb serve`` on the Lab root and its store."""

    def post(self) -> None:
        try:
            self.plane.serve.start()
        except AlreadyServing:
            pass  # someone started one meanwhile: the page shows it running
        default = self.link("/ui/workflows")
        self.redirect(pages.on_site(self.get_body_argument("back", default), default))


def gated(handler: type, gate: type) -> type:
    """``handler`` behind ``gate``; an API handler keeps its own JSON errors and log lines."""
    own = {"log_exception": handler.log_exception}
    if gate is ApiGate:
        own["write_error"] = handler.write_error
    return type(f"Lab{handler.__name__}", (gate, handler), own)


def routes(base_url: str) -> list[tuple[Any, ...]]:
    """The REST API under ``{base_url}jetnb/api/`` and the pages under ``{base_url}jetnb/ui/``."""
    root = url_path_join(base_url, "jetnb")
    mounted: list[tuple[Any, ...]] = []
    for path, handler, *kwargs in [*api.routes(), *pages.routes(sign_in=False), ("/ui/server/start", StartServe)]:
        if issubclass(handler, tornado.web.RedirectHandler):
            mounted.append((root + path + "$", handler, *kwargs))
        else:
            mounted.append((root + path + "$", gated(handler, ApiGate if path.startswith("/api/") else PageGate)))
    return [*mounted, (root + "/api/.*$", gated(base.NotFound, ApiGate))]


def settings(base_url: str, lab: Lab) -> dict[str, Any]:
    """What the handlers find in the application's settings (``http/base.py``)."""
    return {"jetnb_plane": LabPlane(lab), "jetnb_callers": JupyterCallers(),
            "jetnb_root": url_path_join(base_url, "jetnb")}
