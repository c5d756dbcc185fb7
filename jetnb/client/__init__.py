"""Clients of jetnb for code running in a notebook (widgets, the interactive approval prompt): start runs, read them,
decide approval requests and cancel, either on the local store (``LocalClient``) or through ``jetnb serve``
(``ServerClient``). Both speak the same ``Client`` protocol, so no widget knows which it has."""

from .base import Client
from .local import LocalClient
from .server import ServerClient, ServerError

__all__ = ["Client", "LocalClient", "ServerClient", "ServerError"]
