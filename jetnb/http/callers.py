"""Who is calling: the one question the API handlers and the web pages ask, whoever answers it.

``jetnb serve`` answers with tokens (``Tokens``: the server token is
``admin``, a personal token its user, a page's signed session cookie the user
who signed in with one). The Jupyter server extension answers with Jupyter's
own identity (``jetnb/jupyter/mount.py``). Handlers find the answerer in the
application's settings under ``jetnb_callers`` and never look at a credential
themselves.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol
from urllib.parse import urlencode

import tornado.web

from ..protocol import Principal
from ..store import Store
from .auth import ADMIN, bearer, principal_for

COOKIE = "jetnb_session"


class Callers(Protocol):
    """How a mount of jetnb's handlers knows its callers."""

    def api_caller(self, handler: tornado.web.RequestHandler, store: Store) -> Principal | None:
        """The principal of an API request, or None (then 401)."""

    def page_caller(self, handler: tornado.web.RequestHandler, store: Store) -> Principal | None:
        """The principal of a page request, or None (then the sign-in form)."""

    def check_api_xsrf(self, handler: tornado.web.RequestHandler) -> None:
        """Refuse an API request forged by another site (raises ``HTTPError(403)``)."""

    def nobody(self, handler: Any, *, page: bool) -> None:
        """Answer a caller who is nobody: a refusal for the API, the way to sign in for a page."""


class Tokens:
    """``jetnb serve``: bearer or ``?token=`` tokens for the API, a signed session cookie for the pages.

    The cookie holds the user and the id of the token they signed in with,
    never a token: rotating the token or removing the user ends the session.
    """

    def __init__(self, server_token: str):
        self.server_token = server_token

    def api_caller(self, handler: tornado.web.RequestHandler, store: Store) -> Principal | None:
        given = bearer(handler.request.headers) or handler.get_query_argument("token", None)
        return principal_for(given, self.server_token, store)

    def page_caller(self, handler: tornado.web.RequestHandler, store: Store) -> Principal | None:
        cookie = handler.get_signed_cookie(COOKIE, max_age_days=7)
        if not cookie:
            return None
        try:
            session = json.loads(cookie)
            name, token_id = str(session["user"]), str(session["token"])
        except (ValueError, KeyError, TypeError):
            return None
        if name == ADMIN and token_id == self.server_session():
            return Principal(ADMIN, admin=True)
        return store.session_valid(name, token_id)

    def check_api_xsrf(self, handler: tornado.web.RequestHandler) -> None:
        """API callers authenticate with tokens, never cookies, so there is nothing to forge."""

    def nobody(self, handler: Any, *, page: bool) -> None:
        if page:
            handler.redirect(handler.link("/ui/login?") + urlencode({"next": handler.request.path}))
        else:
            handler.refuse(401, "missing or wrong token (Authorization: Bearer <token>, or ?token=)")

    def sign_in(self, handler: tornado.web.RequestHandler, token: str, store: Store) -> Principal | None:
        """A token pasted on a page: its principal, remembered in the session cookie; None when it is wrong."""
        principal = principal_for(token, self.server_token, store)
        if principal is not None:
            token_id = self.server_session() if principal.admin else principal.token_id
            handler.set_signed_cookie(COOKIE, json.dumps({"user": principal.name, "token": token_id}), httponly=True,
                                      samesite="Strict", expires_days=7)
        return principal

    def server_session(self) -> str:
        """A session signed in with the server token names a digest of it: a new token ends those sessions."""
        return "server:" + hashlib.sha256(self.server_token.encode()).hexdigest()[:16]
