"""The parts of a notebook's JSON that jetnb reads (cells, their type, source and tags, the kernelspec), read safely.

A notebook is data from anywhere: ``metadata`` may be a list, ``tags`` a
number, ``source`` a list of numbers. The accessors here return what jetnb
needs or a neutral value (never raise), and ``shape_problems`` says, in
words, what is not as nbformat 4 defines it, so ``Workflow.load`` can
report it with the cell's number.
"""

from __future__ import annotations

from typing import Any

from ..quoting import shown

CELL_TYPES = ("code", "markdown", "raw")

Found = tuple[int | None, str]  # (1-based cell number or None for the notebook, what is wrong)


def cell_source(cell: Any) -> str:
    """The cell's text: nbformat allows one string or a list of lines; anything else reads as empty."""
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    if isinstance(source, str):
        return source
    return "".join(source) if _texts(source) else ""


def cell_tags(cell: Any) -> tuple[str, ...]:
    """The cell's tags (papermill's ``parameters`` among them); malformed tags read as none."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    tags = metadata.get("tags") if isinstance(metadata, dict) else None
    return tuple(tags) if _texts(tags) else ()


def _texts(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def cell_type(cell: Any) -> str | None:
    """``code``, ``markdown`` or ``raw``; None for anything else."""
    kind = cell.get("cell_type") if isinstance(cell, dict) else None
    return kind if kind in CELL_TYPES else None


def kernelspec_field(raw: dict[str, Any], key: str) -> str | None:
    """A text field of ``metadata.kernelspec`` (``name``, ``language``), or None when absent or malformed."""
    metadata = raw.get("metadata")
    spec = metadata.get("kernelspec") if isinstance(metadata, dict) else None
    value = spec.get(key) if isinstance(spec, dict) else None
    return value if isinstance(value, str) else None


def shape_problems(raw: dict[str, Any]) -> list[Found]:
    """What jetnb relies on and finds malformed; the schema check (``schema.py``) adds what nbformat knows."""
    found: list[Found] = []
    if raw.get("nbformat") != 4:
        found.append((None, f"invalid notebook: nbformat must be 4, got {_what(raw.get('nbformat'))}"))
    metadata = raw.get("metadata", {})
    if not isinstance(metadata, dict):
        found.append((None, f"invalid notebook: metadata: expected a mapping, got {_what(metadata)}"))
    elif not isinstance(metadata.get("kernelspec", {}), dict):
        found.append((None, f"invalid notebook: metadata.kernelspec: expected a mapping, got "
                            f"{_what(metadata['kernelspec'])}"))
    for number, cell in enumerate(raw.get("cells") or [], start=1):
        found.extend((number, f"invalid cell: {message}") for message in _cell_problems(cell))
    return found


def _cell_problems(cell: Any) -> list[str]:
    if not isinstance(cell, dict):
        return [f"expected a mapping, got {_what(cell)}"]
    problems = []
    if "cell_type" not in cell:
        problems.append("no cell_type")
    elif cell_type(cell) is None:
        problems.append(f"unknown cell type {_what(cell['cell_type'])} (code, markdown or raw)")
    source = cell.get("source", "")
    if not isinstance(source, str) and not _texts(source):
        problems.append(f"source: expected text or a list of lines of text, got {_what(source)}")
    metadata = cell.get("metadata", {})
    if not isinstance(metadata, dict):
        problems.append(f"metadata: expected a mapping, got {_what(metadata)}")
    elif "tags" in metadata and not _texts(metadata["tags"]):
        problems.append(f"metadata.tags: expected a list of text, got {_what(metadata['tags'])}")
    return problems


def _what(value: Any) -> str:
    """A JSON value named for a message: its JSON type and, for scalars, the value itself."""
    if isinstance(value, list) and any(not isinstance(item, str) for item in value):
        return f"a list holding {shown(next(item for item in value if not isinstance(item, str)))}"
    if isinstance(value, (dict, list)):
        return f"a {'mapping' if isinstance(value, dict) else 'list'} ({len(value)} items)"
    return "nothing" if value is None else shown(value)
