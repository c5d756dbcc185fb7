"""Keeping secrets out of what actions show: the target to record, the URL to print, and a scrubber for other text.

A Slack, Zapier or Make hook URL *is* its secret (the token is in the
path), other URLs carry ``user:password@`` or ``?api_key=``. So an event
records only ``host[:port]``; a message shows ``scheme://host[:port]`` and at
most one leading path word (``https://hooks.slack.com/services/***``); and any
text that comes from elsewhere (a server's answer, a driver's message) is
scrubbed of every secret part of the URL before it is shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, unquote, urlsplit

MASK = "***"
_WORD = re.compile(r"[A-Za-z][A-Za-z_-]{0,19}")  # "services", "hooks", "api": a route, not a token (no digits)
_SHORTEST = 4  # shorter pieces ("v1", "id") are too common to scrub from text; passwords are scrubbed however short


def target(url: str) -> str:
    """``host[:port]`` of a URL (the port only when written): what an event may say about where it went."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{parts.port}" if parts.port else host


def masked(url: str) -> str:
    """The URL as messages show it: no credentials, no query, the path reduced to its first plain word + ``***``."""
    parts = urlsplit(url)
    word, hidden = _split_path(parts.path)
    shown = (f"/{word}" if word else "") + (f"/{MASK}" if hidden else "")
    return f"{parts.scheme}://{target(url)}{shown}"


def credentials(url: str) -> list[str]:
    """The credentials in ``url`` (``user:password@``, and the URL itself), as written and percent-decoded."""
    parts = urlsplit(url)
    password = [parts.password, unquote(parts.password)] if parts.password else []
    return password + _long([url, parts.netloc.rpartition("@")[0], parts.username or ""])


def secrets_of(url: str) -> list[str]:
    """Everything in an HTTP(S) URL that must not be shown: its credentials, the masked path and the query."""
    parts = urlsplit(url)
    _, hidden = _split_path(parts.path)
    query = [parts.query] + [value for _, value in parse_qsl(parts.query, keep_blank_values=True)]
    return credentials(url) + _long(hidden + ["/".join(hidden)] + query)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with each secret replaced by ``***``, longest first (so a whole URL goes before its parts)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


def _split_path(path: str) -> tuple[str | None, list[str]]:
    """The leading route word that may be shown (only when more follows it), and the segments to hide."""
    segments = [s for s in path.split("/") if s]
    if len(segments) > 1 and _WORD.fullmatch(segments[0]):
        return segments[0], segments[1:]
    return None, segments


def _long(pieces: Iterable[str]) -> list[str]:
    """The pieces long enough to scrub, each also percent-decoded (``p%40ss`` is shown as ``p@ss`` by some)."""
    found = {variant for piece in pieces for variant in (piece, unquote(piece))}
    return [piece for piece in found if len(piece) >= _SHORTEST]
