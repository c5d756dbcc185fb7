"""Import papermill without paying for a grammar, or cloud clients, it never uses.

``jsonschema`` (imported by nbformat, hence papermill) optionally imports
``rfc3987_syntax``, which builds a Lark grammar for ~1 s at import. It is only
used for the ``iri``/``uri-reference`` formats, which notebook validation does
not use, so jetnb's own processes mark it absent before importing papermill.
See docs/decisions.md.
"""

from __future__ import annotations

import sys


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
