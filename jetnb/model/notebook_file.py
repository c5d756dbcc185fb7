"""A notebook file read as JSON for the static model, whatever its bytes: a mapping, or one sentence why not.

Reading is bounded the same way for ``check``, ``run`` and ``serve``: a
file that is not UTF-8, not JSON, holds a number Python refuses to convert
(more than 4300 digits) or nests deeper than ``MAX_NOTEBOOK_DEPTH`` (the
schema check and nbformat's conversions recurse) is refused with a reason,
never a traceback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .datatext import deeper_than

MAX_NOTEBOOK_DEPTH = 100  # real notebooks nest a dozen levels (widget state, JSON outputs); Python recurses at ~1000


class UnreadableNotebook(ValueError):
    """The file cannot be read as a notebook's JSON; the message is the one problem to report."""


def read_notebook_json(path: Path) -> Any:
    """The parsed JSON of ``path`` (any JSON value: the caller checks its shape); UnreadableNotebook says why not."""
    return parse_notebook_json(read_notebook_bytes(path))


def read_notebook_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UnreadableNotebook("file not found") from None
    except OSError as exc:
        raise UnreadableNotebook(f"cannot read the file: {exc.strerror or exc}") from None


def parse_notebook_json(data: bytes) -> Any:
    """The parsed JSON of a notebook file's bytes, bounded as the module says; UnreadableNotebook says why not."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UnreadableNotebook(f"cannot read the file: not UTF-8 (byte 0x{data[exc.start]:02x} at position "
                                 f"{exc.start})") from None
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UnreadableNotebook(f"not a notebook: invalid JSON at line {exc.lineno} column {exc.colno}: "
                                 f"{exc.msg}") from None
    except RecursionError:
        raise UnreadableNotebook(f"not a notebook: JSON nested deeper than {MAX_NOTEBOOK_DEPTH} levels") from None
    except ValueError:  # Python's limit on converting long digit strings to int
        raise UnreadableNotebook("not a notebook: a number has more than 4300 digits") from None
    bracketed = text.count("[") + text.count("{") > MAX_NOTEBOOK_DEPTH  # fewer brackets cannot nest deeper: no walk
    if bracketed and deeper_than(raw, MAX_NOTEBOOK_DEPTH):
        raise UnreadableNotebook(f"not a notebook: JSON nested deeper than {MAX_NOTEBOOK_DEPTH} levels")
    return raw
