"""``jetnb run``'s parameters taken the way papermill takes them, and the notes that say where jetnb differs.

papermill merges its sources in a fixed order, a later one winning: ``-b``
(base64 of YAML), ``-f`` files, ``-y`` YAML texts, ``-p`` and ``-r``. jetnb
keeps that order. Values from ``-b``, ``-f`` and ``-y`` are typed (YAML chose
their types); ``-p`` and ``-r`` are text, parsed by the declared type, so a
raw string (``-r``) is simply a ``-p`` value (a ``str`` parameter keeps it
as it is).
"""

from __future__ import annotations

import base64
import binascii
from pathlib import Path
from typing import Any, Callable

from ..model.params import ParameterError, load_params_file, params_from_text, typed

UNKNOWN_NOTE = "jetnb refuses unknown parameters (papermill only warns of them and runs anyway)"
TYPE_NOTE = ("jetnb checks each value against the type the parameters cell declares (papermill passes values on "
             "unchecked)")


def gather_params(base64s: tuple[str, ...], files: tuple[Path, ...], yamls: tuple[str, ...],
                  texts: tuple[tuple[str, str], ...], raws: tuple[tuple[str, str], ...]) -> dict[str, Any]:
    """Every source merged in papermill's order; ParameterError lists the problems of every source at once."""
    values: dict[str, Any] = {}
    problems: list[str] = []

    def read(load: Callable[..., dict[str, Any]], *args: Any) -> None:
        try:
            values.update(typed(load(*args)))
        except ParameterError as exc:
            problems.extend(exc.problems)

    for index, text in enumerate(base64s, 1):
        read(_from_base64, text, index)
    for path in files:
        read(load_params_file, path)
    for index, text in enumerate(yamls, 1):
        read(params_from_text, text, f"-y/--parameters_yaml #{index}")
    if problems:
        raise ParameterError(problems)
    values.update(dict(texts))
    values.update(dict(raws))
    return values


def _from_base64(text: str, index: int) -> dict[str, Any]:
    where = f"-b/--parameters_base64 #{index}"
    try:
        decoded = base64.b64decode(text.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        raise ParameterError([f"{where}: not base64 of UTF-8 text (papermill's -b takes base64-encoded YAML)"]) \
            from None
    return params_from_text(decoded, where)


def papermill_notes(exc: ParameterError) -> list[str]:
    """Why a value papermill would take is refused here, for people who come from papermill."""
    notes = [UNKNOWN_NOTE] if exc.unknown else []
    if exc.fields:
        notes.append(TYPE_NOTE)
    return notes
