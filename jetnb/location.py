"""Run files on any location: a local path, or an fsspec URL (``s3://``, ``gs://``, ``file://``, ``memory://``...).

Every read and write of run logs, journals and run folders goes through
these few calls, so the run service, the workers of the ``dask`` backend,
the API, the pages and ``jetnb show`` agree whether the runs folder is a
local folder or object storage. A local path never imports fsspec (the CLI's
hot path); a URL needs the ``dask`` extra (fsspec, s3fs). Options of a
filesystem (an S3 endpoint, credentials) come from fsspec's own
configuration, e.g. ``FSSPEC_S3_ENDPOINT_URL`` or ``AWS_*`` variables.
"""

from __future__ import annotations

import os
import posixpath
import shutil
import uuid
from pathlib import Path
from typing import Any

from .files import write_atomic as _write_local


class LocationError(OSError):
    """A location that cannot be used (no fsspec for the URL's scheme...); the message names it."""


def is_url(location: str | os.PathLike[str]) -> bool:
    return "://" in str(location)


def _fs(url: str) -> tuple[Any, str]:
    try:
        from fsspec.core import url_to_fs
    except ImportError:
        raise LocationError(f"{url}: run files at a URL need fsspec: pip install 'jetnb[dask]'") from None
    try:
        return url_to_fs(url)
    except (ImportError, ValueError) as exc:
        raise LocationError(f"{url}: {exc}") from None


def join(base: str | os.PathLike[str], *parts: str) -> str:
    """``base/part/...`` for a path or a URL (URLs always use ``/``)."""
    if is_url(base):
        return posixpath.join(str(base).rstrip("/"), *parts)
    return os.path.join(str(base), *parts)


def absolute(location: str | os.PathLike[str]) -> str:
    """A local path resolved (a runs folder given relative to where jetnb started); a URL as given."""
    return str(location).rstrip("/") if is_url(location) else str(Path(location).resolve())


def read_bytes(location: str) -> bytes:
    """The file's content; FileNotFoundError when it is not there."""
    if not is_url(location):
        return Path(location).read_bytes()
    fs, path = _fs(location)
    return fs.cat_file(path)


def read_text(location: str) -> str:
    return read_bytes(location).decode("utf-8")


def write_atomic(location: str, data: str | bytes, *, durable: bool = True) -> None:
    """Replace the file so that no reader sees half of it: temp file + rename locally, a single put elsewhere
    (an object store replaces an object whole); a filesystem with real renames gets temp + rename."""
    if not is_url(location):
        _write_local(data, location, durable=durable)
        return
    fs, path = _fs(location)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if "file" in _protocols(fs):
        _write_local(raw, path, durable=durable)
        return
    parent = posixpath.dirname(path)
    if parent and not _object_store(fs):
        fs.makedirs(parent, exist_ok=True)
    if _object_store(fs):
        fs.pipe_file(path, raw)
        return
    tmp = posixpath.join(parent, f".{posixpath.basename(path)}.{uuid.uuid4().hex[:8]}.tmp")
    fs.pipe_file(tmp, raw)
    fs.mv(tmp, path)


def exists(location: str) -> bool:
    if not is_url(location):
        return os.path.exists(location)
    fs, path = _fs(location)
    fs.invalidate_cache(path)
    return fs.exists(path)


def is_file(location: str) -> bool:
    if not is_url(location):
        return os.path.isfile(location)
    fs, path = _fs(location)
    fs.invalidate_cache(path)
    return fs.isfile(path)


def listdir(location: str) -> list[str]:
    """The names (not paths) in a folder, sorted; [] when it does not exist."""
    if not is_url(location):
        try:
            return sorted(os.listdir(location))
        except FileNotFoundError:
            return []
    fs, path = _fs(location)
    fs.invalidate_cache(path)
    try:
        return sorted(posixpath.basename(p.rstrip("/")) for p in fs.ls(path, detail=False))
    except FileNotFoundError:
        return []


def file_sizes(location: str) -> dict[str, int]:
    """The files in a folder, name -> size, hidden (``.name``, temporary) ones left out; {} when it does not exist."""
    if not is_url(location):
        try:
            entries = list(os.scandir(location))
        except FileNotFoundError:
            return {}
        return {e.name: e.stat().st_size for e in entries if e.is_file() and not e.name.startswith(".")}
    fs, path = _fs(location)
    fs.invalidate_cache(path)
    try:
        found = fs.ls(path, detail=True)
    except FileNotFoundError:
        return {}
    named = {posixpath.basename(e["name"].rstrip("/")): e for e in found if e.get("type") == "file"}
    return {name: int(e.get("size") or 0) for name, e in named.items() if not name.startswith(".")}


def makedirs(location: str) -> None:
    """Create a folder (object stores have no folders: nothing to do there)."""
    if not is_url(location):
        os.makedirs(location, exist_ok=True)
        return
    fs, path = _fs(location)
    if not _object_store(fs):
        fs.makedirs(path, exist_ok=True)


def remove_tree(location: str) -> bool:
    """Remove a file or a folder with everything in it; False when there was nothing."""
    if not is_url(location):
        target = Path(location)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        elif target.exists() or target.is_symlink():
            target.unlink()
        else:
            return False
        return True
    fs, path = _fs(location)
    fs.invalidate_cache(path)
    if not fs.exists(path):
        return False
    fs.rm(path, recursive=True)
    return True


def _protocols(fs: Any) -> tuple[str, ...]:
    protocol = fs.protocol
    return (protocol,) if isinstance(protocol, str) else tuple(protocol)


def _object_store(fs: Any) -> bool:
    """Stores where one put replaces an object whole and folders are only key prefixes."""
    return bool({"s3", "s3a", "gs", "gcs", "abfs", "az", "memory"} & set(_protocols(fs)))
