"""Notebooks that live elsewhere (``s3://``, ``gs://``, ``abs://``, ``http(s)://``...), read and written through
papermill's I/O handlers (``papermill.iorw``), as ``papermill`` reads its input and writes its output.

jetnb validates and executes local files only, so a remote notebook is
downloaded to a temporary file named as in its URL (the workflow's name
defaults to that file name) and removed afterwards. papermill's HTTP handler
takes any answer as the notebook and ignores a failed upload; jetnb's
replaces it so that a 404 or a refused PUT is an error that says so.
"""

from __future__ import annotations

import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlsplit

from .fastimport import one_importer, skip_unused_grammar
from ..files import write_atomic
from .notebook_io import is_local


class RemoteIOError(OSError):
    """A notebook that could not be read from or written to its location; the message names it."""


def is_remote(location: str) -> bool:
    return not is_local(location)


def read_text(location: str) -> str:
    """The text at ``location`` (a path or a URL papermill has a handler for)."""
    if is_local(location):
        try:
            return Path(location).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise RemoteIOError(f"cannot read {location}: {exc}") from None
    io = handlers()
    try:
        return io.read(location)
    except Exception as exc:  # each handler raises its own library's errors (botocore, requests, azure, gcs...)
        raise RemoteIOError(f"cannot read {location}: {_reason(exc)}") from None


def write_text(text: str, location: str) -> None:
    """Write ``text`` to a local path (atomically) or through papermill's handler for the URL."""
    if is_local(location):
        try:
            write_atomic(text, location)
        except OSError as exc:
            raise RemoteIOError(f"cannot write {location}: {exc}") from None
        return
    io = handlers()
    try:
        io.write(text, location)
    except Exception as exc:
        raise RemoteIOError(f"cannot write {location}: {_reason(exc)}") from None


@contextmanager
def local_copy(location: str) -> Iterator[Path]:
    """``location`` itself when it is a local path; else a temporary download of it, removed on exit."""
    if is_local(location):
        yield Path(location)
        return
    text = read_text(location)
    folder = Path(tempfile.mkdtemp(prefix="jetnb-remote-"))
    try:
        path = folder / (Path(urlsplit(location).path).name or "notebook.ipynb")
        path.write_text(text, encoding="utf-8")
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _reason(exc: Exception) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0] if "\n" in text else text


class _CheckedHttp:
    """papermill's ``HttpHandler``, but an answer other than 2xx is an error instead of the notebook's text."""

    @classmethod
    def read(cls, path: str) -> str:
        import requests

        answer = requests.get(path, headers={"Accept": "application/json"}, timeout=60)
        answer.raise_for_status()
        return answer.text

    @classmethod
    def listdir(cls, path: str) -> list[str]:
        raise RemoteIOError("listing is not supported over HTTP")

    @classmethod
    def write(cls, buf: str, path: str) -> None:
        import requests

        requests.put(path, data=buf.encode("utf-8"), timeout=60).raise_for_status()

    @classmethod
    def pretty_path(cls, path: str) -> str:
        return path


_io: Any = None


def handlers() -> Any:
    """papermill's handler registry, with the checked HTTP handler in front (registered once per process)."""
    global _io
    if _io is None:
        skip_unused_grammar()
        with one_importer():  # jetnb run's head start may be importing papermill in another thread
            from papermill.iorw import papermill_io

        github = [(scheme, papermill_io.get_handler(scheme)) for scheme in ("http://github.com/", "https://github.com/")]
        for scheme, handler in [("http://", _CheckedHttp), ("https://", _CheckedHttp), *github]:
            papermill_io.register(scheme, handler)  # the newest first: GitHub's handler stays in front of ours
        _io = papermill_io
    return _io
