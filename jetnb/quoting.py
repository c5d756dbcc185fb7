"""How error messages quote what a person gave: ``repr``, clipped, so a 5 MB input never makes a 5 MB message."""

from __future__ import annotations

import reprlib
from typing import Any

SHOWN_LIMIT = 60

_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = SHOWN_LIMIT
_repr.maxlist = _repr.maxtuple = _repr.maxdict = _repr.maxset = 8
_repr.maxlevel = 3


def shown(value: Any, limit: int = SHOWN_LIMIT) -> str:
    """The value's ``repr`` cut to ``limit`` characters; containers are summarised, never walked whole."""
    return clipped(_repr.repr(value), limit)


def clipped(text: str, limit: int = SHOWN_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, the cut marked with an ellipsis."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
