"""Import papermill without paying for a grammar, or cloud clients, it never uses.

``jsonschema`` (imported by nbformat, hence papermill) optionally imports
``rfc3987_syntax``, which builds a Lark grammar for ~1 s at import. It is only
used for the ``iri``/``uri-reference`` formats, which notebook validation does
not use, so jetnb's own processes mark it absent before importing papermill.
See docs/decisions.md.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager


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
