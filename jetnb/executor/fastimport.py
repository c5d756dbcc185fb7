"""Import papermill without paying for a grammar it never uses.

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
