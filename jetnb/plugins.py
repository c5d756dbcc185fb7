"""Entry-point groups read as papermill reads its engines: the registry behind trigger kinds, executor backends
and actions.

A group is read once per process, on first use (so a command that needs no
plug-in never pays for scanning the installed packages); the first
registration of a name wins; a plug-in that cannot be imported is named with
its error instead of taking the others down.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from .quoting import shown

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint


class UnknownPlugin(LookupError):
    """No plug-in of that name is registered, or it cannot be loaded; the message says which and why."""


class EntryPoints:
    def __init__(self, group: str, what: str, error: type[UnknownPlugin] = UnknownPlugin):
        self.group = group
        self.what = what  # "trigger kind", "executor backend"... for messages
        self.error = error
        self._points: dict[str, EntryPoint] | None = None
        self._loaded: dict[str, Any] = {}
        self._lock = threading.Lock()

    def points(self) -> dict[str, EntryPoint]:
        from importlib.metadata import entry_points  # costs a scan of installed packages: only when asked

        with self._lock:
            if self._points is None:
                found: dict[str, EntryPoint] = {}
                for point in entry_points(group=self.group):
                    found.setdefault(point.name, point)
                self._points = found
            return self._points

    def names(self) -> list[str]:
        return sorted(self.points())

    def load(self, name: str) -> Any:
        """The object registered as ``name``, imported on first ask."""
        points = self.points()
        if name not in points:
            known = ", ".join(sorted(points)) or "none: is jetnb installed (pip install -e .)?"
            raise self.error(f"unknown {self.what} {shown(name)} (known: {known})")
        with self._lock:
            if name not in self._loaded:
                try:
                    self._loaded[name] = points[name].load()
                except Exception as exc:  # a broken plug-in is named, not a traceback from deep in importlib
                    raise self.error(f"{self.what} {name!r} is installed but cannot be loaded "
                                     f"({type(exc).__name__}: {exc})") from None
            return self._loaded[name]
