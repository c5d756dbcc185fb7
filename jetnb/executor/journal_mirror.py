"""A run's journal when its runs folder is a URL (``s3://...``): the kernel keeps it in a local folder, this copies
it from the run's location before the run and back after every step, so the kernel never needs fsspec and a run
resumed on another machine (a Dask worker) finds it."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

from .. import location
from ..protocol import Event, StepEvent


class JournalMirror:
    def __init__(self, shared: str | None):
        """``shared``: the run's journal folder; a local path needs no mirror (``local`` is then that path)."""
        self.shared = shared if shared and location.is_url(shared) else None
        self.local = tempfile.mkdtemp(prefix="jetnb-journal-") if self.shared else shared
        self._sent: dict[str, tuple[int, int]] = {}
        if self.shared:
            for name in location.listdir(self.shared):
                if name.endswith(".pkl"):
                    path = os.path.join(self.local, name)
                    with open(path, "wb") as handle:
                        handle.write(location.read_bytes(location.join(self.shared, name)))
                    self._sent[name] = _stamp(path)

    def observing(self, observer: Any) -> Any:
        """``observer``, with the journal saved to its location whenever a step ends."""
        return _Saving(observer, self) if self.shared else observer

    def push(self) -> None:
        """Copy entries written or rewritten since the last push."""
        if not self.shared or not self.local or not os.path.isdir(self.local):
            return
        for name in sorted(os.listdir(self.local)):
            path = os.path.join(self.local, name)
            if name.endswith(".pkl") and self._sent.get(name) != (stamp := _stamp(path)):
                with open(path, "rb") as handle:
                    location.write_atomic(location.join(self.shared, name), handle.read())
                self._sent[name] = stamp

    def close(self) -> None:
        if self.shared and self.local:
            shutil.rmtree(self.local, ignore_errors=True)


class _Saving:
    def __init__(self, observer: Any, journal: JournalMirror):
        self.observer, self.journal = observer, journal

    def event(self, event: Event) -> None:
        if isinstance(event, StepEvent) and event.status not in ("running", "waiting"):
            self.journal.push()
        self.observer.event(event)


def _stamp(path: str) -> tuple[int, int]:
    info = os.stat(path)
    return info.st_mtime_ns, info.st_size
