"""Writing run logs so that a reader never sees half a file: write to a temporary sibling, then rename."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def is_local(path: str) -> bool:
    return "://" not in path


def write_atomic(text: str, path: str | Path, *, durable: bool = True) -> None:
    """Replace ``path`` with ``text`` in one rename; a crash leaves the old file or the new one, never a mix.

    ``durable`` also fsyncs the data before the rename, so the new content
    survives a power cut; without it a crash of the machine may keep the
    previous version (a crash of the process cannot).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def notebook_json(nb: Any, *, pretty: bool = True) -> str:
    """The notebook as JSON, without re-validating it (it was validated before the run started).

    ``pretty`` is nbformat's own layout (indented, sorted, lines split), for
    the run log people keep; a run in progress is saved compact with the C
    JSON encoder, many times faster, since only its last version stays.
    """
    if not pretty:
        return json.dumps(nb, ensure_ascii=False, default=str)
    from nbformat.v4 import writes

    return writes(nb)


def save_notebook(nb: Any, path: str, *, durable: bool = True, pretty: bool = True) -> None:
    """Save a notebook node to a local path atomically, or through papermill's I/O for remote locations."""
    if is_local(path):
        write_atomic(notebook_json(nb, pretty=pretty), path, durable=durable)
    else:
        from papermill.iorw import write_ipynb

        write_ipynb(nb, path)
