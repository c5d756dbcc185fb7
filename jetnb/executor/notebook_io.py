"""Writing run logs so that a reader never sees half a file: write to a temporary sibling, then rename."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any


def is_local(path: str) -> bool:
    return "://" not in path


def write_atomic(text: str, path: str | Path) -> None:
    """Replace ``path`` with ``text`` in one rename; a crash leaves the old file or the new one, never a mix."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_notebook(nb: Any, path: str) -> None:
    """Save a notebook node to a local path atomically, or through papermill's I/O for remote locations."""
    import nbformat

    if is_local(path):
        write_atomic(nbformat.writes(nb), path)
    else:
        from papermill.iorw import write_ipynb

        write_ipynb(nb, path)
