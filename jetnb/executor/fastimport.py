"""Import papermill without paying for a grammar, or cloud clients, it never uses.

``jsonschema`` (imported by nbformat, hence papermill) optionally imports
``rfc3987_syntax``, which builds a Lark grammar for ~1 s at import. It is only
used for the ``iri``/``uri-reference`` formats, which notebook validation does
not use, so jetnb's own processes mark it absent before importing papermill.
See docs/decisions.md.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import threading
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


def skip_unused_grammar() -> None:
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


# Clients papermill imports at import time for its s3://, abs://, gs://, hdfs:// handlers (each optional there).
CLOUD_CLIENTS = ("boto3", "azure.datalake.store", "azure.storage.blob", "gcsfs", "pyarrow")


def skip_cloud_clients() -> None:
    """For a process that reads and writes local files only (``jetnb run`` of a local notebook): papermill's
    cloud handlers then import nothing (boto3 alone is ~0.4 s) and would report the client missing if used."""
    for name in CLOUD_CLIENTS:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]


def defer_http_client() -> None:
    """For the same process: papermill imports requests (~0.09 s) at import time, for its http:// handler only.
    ``requests`` becomes a stand-in module until something reads an attribute of it (that handler, or anything
    else): then the real one is imported and the stand-in takes on all its names, so every reference works.

    (``importlib.util.LazyLoader`` does not help here: an ``import`` statement reads the module's ``__spec__``,
    which loads a lazy module at once.)"""
    if "requests" in sys.modules or importlib.util.find_spec("requests") is None:
        return
    stand_in = types.ModuleType("requests", "imported at its first use (jetnb.executor.fastimport)")

    def load(name: str) -> Any:
        with _importing:
            if sys.modules.get("requests") is stand_in:
                del sys.modules["requests"]
                real = importlib.import_module("requests")
                vars(stand_in).update({k: v for k, v in vars(real).items() if k != "__getattr__"})
                del vars(stand_in)["__getattr__"]
        return getattr(sys.modules["requests"], name)

    stand_in.__getattr__ = load  # type: ignore[attr-defined]  PEP 562: called only for names it lacks
    sys.modules["requests"] = stand_in


_importing = threading.RLock()


@contextmanager
def one_importer() -> Iterator[None]:
    """Around imports of IPython, jupyter_client, nbformat and papermill: one thread at a time.

    ``jetnb run`` imports papermill and starts the kernel in a background
    thread (``head_start.py``) while its main thread validates the notebook,
    which imports IPython and nbformat too, or downloads it with papermill's
    I/O. Two threads importing parts of packages whose modules import each
    other can each hold a module lock the other waits for; Python then hands
    one of them a half-initialised module ("ImportError: cannot import name
    ... from partially initialized module"). Under this lock the second
    thread waits for the first one's import instead.
    """
    with _importing:
        yield
