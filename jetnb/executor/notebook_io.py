"""Writing run logs: atomically (``files.write_atomic``), and with every known secret value masked.

The mask is a final pass over the serialized notebook, whatever put the
value there (an output, metadata, papermill's parameters), so no run log
write can skip it.
"""

from __future__ import annotations

import json
from typing import Any

from .. import location
from ..secrets.masking import masker


def is_local(path: str) -> bool:
    return not location.is_url(path)


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
    """Save a notebook node atomically to a local path or an fsspec URL (``jetnb.location``)."""
    location.write_atomic(path, masker.mask_json(notebook_json(nb, pretty=pretty)), durable=durable)
