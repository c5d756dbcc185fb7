"""What an artifact may be: its name, how many a run may keep and how big they may be together, its MIME type, and
whether a browser could execute it. The kernel checks these before writing; the API and pages before serving.

A name is one file name (``orders.csv``, ``chart 2024-01.png``): no folder
part, so no ``/``, ``\\``, ``..`` or absolute path can reach outside the
run's ``artifacts/`` folder; no control characters; it does not start with
``.`` (temporary files do); at most ``MAX_NAME`` characters.
"""

from __future__ import annotations

import mimetypes
import os
import unicodedata

MAX_NAME = 200
MAX_COUNT = 1000  # artifacts one run may keep
DEFAULT_MAX_BYTES = 100 * 1024 * 1024  # all of one run's artifacts together
MAX_BYTES_ENV = "JETNB_ARTIFACTS_MAX_BYTES"
WORKFLOW_KEY = "artifacts_max_bytes"
OCTET = "application/octet-stream"
TEXT_TYPES = ("application/json", "application/xml", "application/javascript", "application/x-javascript",
              "image/svg+xml", "application/xhtml+xml", "application/x-ndjson", "application/yaml")
# types a browser renders or runs itself: always served as a download, never inline
ACTIVE_TYPES = ("text/html", "application/xhtml+xml", "image/svg+xml", "application/javascript",
                "application/x-javascript", "text/javascript", "application/xml", "text/xml", "application/pdf")


class ArtifactError(ValueError):
    """An artifact refused (a bad name, too many, too big); the message names it and says why."""


def check_name(name: object) -> str:
    """``name`` if it is a valid artifact name; ArtifactError saying what is wrong otherwise."""
    if not isinstance(name, str):
        raise ArtifactError(f"artifact name must be text, got {type(name).__name__}")
    shown = repr(name[:60] + ("…" if len(name) > 60 else ""))
    if not name.strip():
        raise ArtifactError("artifact name is empty")
    if len(name) > MAX_NAME:
        raise ArtifactError(f"artifact name {shown} is {len(name)} characters long; at most {MAX_NAME}")
    if "/" in name or "\\" in name or os.path.isabs(name) or name in (".", ".."):
        raise ArtifactError(f"artifact name {shown} must be a file name, without '/', '\\' or '..' "
                            "(artifacts are kept in one folder per run)")
    if any(unicodedata.category(ch).startswith("C") for ch in name):
        raise ArtifactError(f"artifact name {shown} holds control characters")
    if name.startswith("."):
        raise ArtifactError(f"artifact name {shown} must not start with '.'")
    if name != name.strip():
        raise ArtifactError(f"artifact name {shown} must not start or end with spaces")
    return name


def max_bytes(configured: int | None = None) -> int:
    """The size limit of one run's artifacts: the workflow's ``artifacts_max_bytes``, else
    ``$JETNB_ARTIFACTS_MAX_BYTES``, else 100 MiB."""
    if configured:
        return configured
    raw = os.environ.get(MAX_BYTES_ENV, "").strip()
    if raw:
        from .fields import size

        try:
            return size(raw)
        except ValueError as exc:
            raise ArtifactError(f"${MAX_BYTES_ENV}: {exc}") from None
    return DEFAULT_MAX_BYTES


def guess_mime(name: str, *, text: bool = False) -> str:
    """The MIME type of ``name`` by its extension; ``text/plain`` for text with no known extension."""
    mime = mimetypes.guess_type(name, strict=False)[0]
    if mime is None:
        return "text/plain" if text else OCTET
    return mime


def is_text(mime: str) -> bool:
    """Text that secrets masking applies to (and that is served with ``charset=utf-8``)."""
    base = mime.split(";")[0].strip().lower()
    return base.startswith("text/") or base in TEXT_TYPES or base.endswith(("+json", "+xml"))


def is_active(mime: str) -> bool:
    """A type a browser would render or execute in the page's origin: it is only ever downloaded."""
    base = mime.split(";")[0].strip().lower()
    return base in ACTIVE_TYPES or base.endswith("+xml") or "html" in base or "script" in base


def human_size(size: int) -> str:
    """``532 B``, ``12.4 KiB``, ``3.1 MiB``."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
