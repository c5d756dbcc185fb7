"""What actions raise: one base class, and the failures a step may want to retry by their built-in kind.

``ConnectionFailed`` is also a ``ConnectionError`` and ``ActionTimeout`` a
``TimeoutError``, so ``%%step --retries 3 --retry-on ConnectionError,TimeoutError``
retries them without naming jetnb classes. Messages name the target with
its secrets masked (``https://hooks.slack.com/services/***``), never a
credential, a query string or a hook token.
"""

from __future__ import annotations


class ActionError(Exception):
    """An action could not do its work (refused, misconfigured, answered with an error)."""


class ConnectionFailed(ActionError, ConnectionError):
    """The other side could not be reached, or dropped the connection."""


class ActionTimeout(ActionError, TimeoutError):
    """The other side did not answer within the action's ``timeout``."""


class HTTPStatusError(ActionError):
    """The last answer was an HTTP error (4xx/5xx); ``status`` and a short, masked ``excerpt`` of its body."""

    def __init__(self, message: str, *, status: int, excerpt: str):
        super().__init__(message)
        self.status = status
        self.excerpt = excerpt
