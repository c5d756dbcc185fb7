"""Writing files so that a reader never sees half of one: write to a temporary sibling, then rename."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path


def write_atomic(text: str | bytes, path: str | Path, *, durable: bool = True) -> None:
    """Replace ``path`` with ``text`` (or bytes) in one rename; a crash leaves the old file or the new one, never a mix.

    ``durable`` also fsyncs the data before the rename, so the new content
    survives a power cut; without it a crash of the machine may keep the
    previous version (a crash of the process cannot). The file is created
    with mode 0600 (``mkstemp``'s), so it is never readable by others, even
    for a moment.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with (os.fdopen(fd, "wb") if isinstance(text, bytes) else os.fdopen(fd, "w", encoding="utf-8")) as handle:
            handle.write(text)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_atomic_chunks(chunks: Iterable[bytes], path: str | Path) -> int:
    """``write_atomic`` for bytes that arrive in pieces (a download); returns how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            size = sum(handle.write(chunk) for chunk in chunks)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size
