"""Serving a run's artifact so that a browser can only save or show it, never run it in jetnb's origin.

Every answer has ``X-Content-Type-Options: nosniff`` and a
``Content-Security-Policy`` with ``sandbox`` (an HTML or SVG file opened
anyway gets a unique origin, no scripts, no forms); types a browser would
render actively (HTML, SVG, XML, JavaScript, PDF) are always
``Content-Disposition: attachment``. Other types are attachments too unless
``?inline=1`` asks to show them (a PNG chart in a tab).
"""

from __future__ import annotations

from urllib.parse import quote

import tornado.web

from .. import artifact_files as files
from ..artifact_rules import is_active, is_text
from ..service.artifacts import Found

CSP = "sandbox; default-src 'none'; img-src 'self' data:; style-src 'unsafe-inline'"


def disposition(name: str, inline: bool) -> str:
    """``attachment; filename="..."; filename*=UTF-8''...`` (RFC 6266): an ASCII name for old clients, the real
    one for the rest."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\;' else "_" for ch in name)
    return f"{'inline' if inline else 'attachment'}; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def content_type(mime: str) -> str:
    return f"{mime}; charset=utf-8" if is_text(mime) and "charset" not in mime else mime


async def send(handler: tornado.web.RequestHandler, found: Found) -> None:
    """Stream the artifact with its headers (ETag: its sha256)."""
    mime, name = found.artifact["mime"], found.name
    inline = handler.get_query_argument("inline", "") in ("1", "true", "yes") and not is_active(mime)
    handler.set_header("Content-Type", content_type(mime))
    handler.set_header("Content-Disposition", disposition(name, inline))
    handler.set_header("X-Content-Type-Options", "nosniff")
    handler.set_header("Content-Security-Policy", CSP)
    handler.set_header("Cross-Origin-Resource-Policy", "same-origin")
    handler.set_header("Cache-Control", "private, no-cache")
    handler.set_header("ETag", f'"{found.artifact["sha256"]}"')
    handler.set_header("Content-Length", str(found.artifact["size"]))
    for chunk in files.read_chunks(found.directory, name):
        handler.write(chunk)
        await handler.flush()
    await handler.finish()
