"""The trigger kinds this jetnb knows: every ``jetnb.triggers`` entry point, built-ins included.

As papermill's engines, a kind is registered by an entry point whose name is
the key people write under ``triggers:`` (``schedule``, ``webhook``...) and
whose object is a ``TriggerKind`` subclass. Entry points are read once per
process, on first use, so notebooks without triggers never pay for it.
"""

from __future__ import annotations

import threading

from ..plugins import EntryPoints, UnknownPlugin
from .base import TriggerKind


class UnknownTrigger(UnknownPlugin):
    pass


_registry = EntryPoints("jetnb.triggers", "trigger", UnknownTrigger)
_kinds: dict[str, TriggerKind] = {}
_lock = threading.Lock()


def kind(name: str) -> TriggerKind:
    """The kind registered as ``name``, one instance per process."""
    found = _kinds.get(name)  # without the lock: a server looks kinds up for each of thousands of notebooks
    if found is not None:
        return found
    with _lock:
        if name not in _kinds:
            cls = _registry.load(name)
            if not (isinstance(cls, type) and issubclass(cls, TriggerKind)):
                raise UnknownTrigger(f"trigger kind {name!r} ({_registry.points()[name].value}) is not a "
                                     "jetnb.triggers.base.TriggerKind")
            instance = cls()
            instance.name = name
            _kinds[name] = instance
        return _kinds[name]


def kinds() -> dict[str, TriggerKind]:
    """Every kind that loads (a broken plug-in is left out here and named when it is asked for by name)."""
    found = {}
    for name in _registry.names():
        try:
            found[name] = kind(name)
        except UnknownTrigger:
            continue
    return found


def of_family(family: str) -> tuple[str, ...]:
    """The names of the kinds of one family (``time``, ``poll``, ``push``)."""
    return tuple(name for name, k in kinds().items() if k.family == family)
