"""The trigger kinds this jetnb knows: every ``jetnb.triggers`` entry point, built-ins included.

As papermill's engines, a kind is registered by an entry point whose name is
the key people write under ``triggers:`` (``schedule``, ``webhook``...) and
whose object is a ``TriggerKind`` subclass. Entry points are read once per
process, on first use, so notebooks without triggers never pay for it.
"""

from __future__ import annotations

import threading
from importlib.metadata import entry_points

from ..quoting import shown
from .base import TriggerKind

GROUP = "jetnb.triggers"
_kinds: dict[str, TriggerKind] | None = None
_broken: dict[str, str] = {}  # name -> why its entry point could not be loaded
_lock = threading.Lock()


class UnknownTrigger(LookupError):
    pass


def kinds() -> dict[str, TriggerKind]:
    """Name -> kind, loaded from the entry points on first call; a plug-in that fails to load is left out."""
    global _kinds
    with _lock:
        if _kinds is None:
            found: dict[str, TriggerKind] = {}
            for point in entry_points(group=GROUP):
                try:
                    kind = point.load()()
                    if not isinstance(kind, TriggerKind):
                        raise TypeError(f"{point.value} is not a jetnb.triggers.base.TriggerKind")
                except Exception as exc:  # one broken plug-in must not take every other kind down
                    _broken[point.name] = f"{type(exc).__name__}: {exc}"
                    continue
                kind.name = point.name
                found[point.name] = kind
            _kinds = found
        return _kinds


def kind(name: str) -> TriggerKind:
    known = kinds()
    if name in known:
        return known[name]
    if name in _broken:
        raise UnknownTrigger(f"trigger kind {name!r} is installed but cannot be loaded ({_broken[name]})")
    listed = ", ".join(sorted(known)) or "none: is jetnb installed (pip install -e .)?"
    raise UnknownTrigger(f"unknown trigger {shown(name)} (known: {listed})")


def of_family(family: str) -> tuple[str, ...]:
    """The names of the kinds of one family (``time``, ``poll``, ``push``)."""
    return tuple(name for name, k in kinds().items() if k.family == family)
