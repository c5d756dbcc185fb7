"""Every read and write of artifact files, in one place: a run's artifacts are files in one folder
(``runfiles.artifacts_dir``), each written to a temporary sibling and renamed, so a reader never sees half of one.

The folder may be an fsspec URL when the runs folder is one (``s3://...``,
the ``dask`` backend): artifacts are then put whole through ``location``
(an object store replaces an object in one put), a zipped folder is built
in a local temporary file first. Nothing else opens artifact files.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from . import location

CHUNK = 1024 * 1024


@contextmanager
def _atomic(directory: str, name: str) -> Iterator[BinaryIO]:
    """A temporary file in ``directory`` that becomes ``name`` when the block ends without error."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{name[:50]}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, folder / name)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bytes(directory: str, name: str, data: bytes) -> tuple[int, str]:
    """Write ``data`` as ``name``; returns its size and sha256."""
    if location.is_url(directory):
        location.write_atomic(location.join(directory, name), data)
    else:
        with _atomic(directory, name) as handle:
            handle.write(data)
    return len(data), hashlib.sha256(data).hexdigest()


def copy_file(directory: str, name: str, source: str | Path, limit: int) -> tuple[int, str]:
    """Copy the file ``source`` as ``name``; OverflowError (nothing written) once it passes ``limit`` bytes."""
    if location.is_url(directory):
        with open(source, "rb") as src:
            data = src.read(limit + 1)
        if len(data) > limit:
            raise OverflowError(len(data))
        return write_bytes(directory, name, data)
    digest, size = hashlib.sha256(), 0
    with open(source, "rb") as src, _atomic(directory, name) as handle:
        while chunk := src.read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise OverflowError(size)
            digest.update(chunk)
            handle.write(chunk)
    return size, digest.hexdigest()


def zip_folder(directory: str, name: str, folder: str | Path, limit: int) -> tuple[int, str]:
    """Zip the folder ``folder`` (its files, relative to it) as ``name``; OverflowError past ``limit`` bytes."""
    root = Path(folder)
    if location.is_url(directory):
        with tempfile.TemporaryDirectory(prefix="jetnb-zip-") as local:
            zip_folder(local, name, folder, limit)
            return write_bytes(directory, name, (Path(local) / name).read_bytes())
    with _atomic(directory, name) as handle:
        with zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(root.rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(root).as_posix())
                    if handle.tell() > limit:
                        raise OverflowError(handle.tell())
        handle.flush()
        size = handle.tell()
        if size > limit:
            raise OverflowError(size)
    return size, file_sha256(Path(directory) / name)


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def sizes(directory: str) -> dict[str, int]:
    """The artifacts in ``directory`` now, name -> size (temporary files left out)."""
    return location.file_sizes(directory)


def exists(directory: str, name: str) -> bool:
    return location.is_file(location.join(directory, name))


def read_chunks(directory: str, name: str) -> Iterator[bytes]:
    """The artifact's bytes, a chunk at a time (FileNotFoundError when it is gone)."""
    if location.is_url(directory):
        yield location.read_bytes(location.join(directory, name))
        return
    with open(Path(directory) / name, "rb") as handle:
        while chunk := handle.read(CHUNK):
            yield chunk


def save_to(directory: str, name: str, destination: str | Path) -> int:
    """Copy an artifact to ``destination`` (atomically there too); returns its size."""
    target = Path(destination)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name[:50]}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            size = sum(out.write(chunk) for chunk in read_chunks(directory, name))
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return size


def remove(directory: str, names: list[str]) -> None:
    """Remove these artifacts (those already gone are fine)."""
    for name in names:
        location.remove_tree(location.join(directory, name))
