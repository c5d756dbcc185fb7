"""nbformat's own schema check, with cell numbers, for notebooks that parse as JSON but are not valid notebooks.

``Workflow.load`` runs it, so ``check``, ``run`` and ``serve`` refuse the
same notebooks (papermill would otherwise run a cell of type ``bogus``).
nbformat is imported through ``skip_unused_grammar`` (see
``executor/fastimport.py``); ``jetnb runs`` and ``show`` never load a
workflow, so they never import it.
"""

from __future__ import annotations

from typing import Any

from ..quoting import clipped
from .notebook_shape import Found

MAX_SCHEMA_PROBLEMS = 20  # a notebook with a thousand broken cells needs the first few named, not all


def schema_problems(raw: dict[str, Any], broken_cells: set[int], broken_metadata: bool) -> list[Found]:
    """nbformat's findings for an nbformat 4 notebook, past what ``shape_problems`` already said.

    Cells already found broken are replaced by an empty raw cell first, so
    nbformat neither repeats the finding nor trips over it (its error
    reporting adds ``"_cell"`` to the cell type).
    """
    from ..executor.fastimport import one_importer, skip_unused_grammar

    skip_unused_grammar()
    with one_importer():
        from nbformat.validator import iter_validate

    minor = _minor(raw)
    cells = [_placeholder(number, minor) if number in broken_cells else cell
             for number, cell in enumerate(raw["cells"], start=1)]
    found: list[Found] = []
    seen: set[int] = set()
    try:
        for error in iter_validate({**raw, "cells": cells}, version=4, version_minor=minor):
            path = list(error.absolute_path)
            cell = path[1] + 1 if len(path) > 1 and path[0] == "cells" and isinstance(path[1], int) else None
            if cell in seen or (broken_metadata and path[:1] == ["metadata"]):
                continue  # one problem per cell: a broken cell fails each of nbformat's alternatives
            where = "/".join(str(p) for p in path)
            found.append((cell, f"invalid notebook: {clipped(error.message, 200)}" + (f" (at {where})" if where else "")))
            if cell is not None:
                seen.add(cell)
            if len(found) >= MAX_SCHEMA_PROBLEMS:
                break
    except Exception as exc:  # nbformat on arbitrary JSON raises many types: reported as a problem, never hidden
        found.append((None, f"invalid notebook: {clipped(str(exc) or type(exc).__name__, 200)}"))
    return found


def _placeholder(number: int, minor: int) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": "raw", "source": "", "metadata": {}}
    if minor >= 5:
        cell["id"] = f"jetnb-placeholder-{number}"
    return cell


def _minor(raw: dict[str, Any]) -> int:
    """The schema revision to check against, read as nbformat does (a missing minor is 0)."""
    minor = raw.get("nbformat_minor") or 0
    return minor if isinstance(minor, int) and not isinstance(minor, bool) else 0
