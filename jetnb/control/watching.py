"""Which notebooks under the served folder changed, from file-system events (watchdog), so a look costs nothing
when nothing changed.

The scheduler asks ``take`` at each look: the notebooks added, changed or
removed since the last ask, or that the whole folder must be walked again
(a folder was created, moved or deleted: its notebooks came or went without
an event each; or the watch could not be set up). Events are only hints: the
catalog re-reads the files they name and compares digests, so a missed or
spurious event costs a rescan, never a wrong answer; a periodic full rescan
(``FALLBACK_RESCAN``) catches anything the events missed.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

from watchdog.events import (DirCreatedEvent, DirDeletedEvent, DirMovedEvent, FileClosedEvent, FileCreatedEvent,
                             FileDeletedEvent, FileModifiedEvent, FileMovedEvent, FileSystemEventHandler)
from watchdog.observers import Observer

log = logging.getLogger("jetnb.serve")

FALLBACK_RESCAN = 60.0  # real seconds between full walks of the folder while events are watched
UNWATCHED_RESCAN = 2.0  # real seconds between full walks when the folder cannot be watched (no inotify left)
# What changes a notebook or the folder. Not opening or reading a file: the catalog reads every notebook it parses,
# and 10,000 of them were 20,000 events for watchdog's thread to build and drop (~3 s of a first start).
WATCHED = [FileCreatedEvent, FileModifiedEvent, FileClosedEvent, FileDeletedEvent, FileMovedEvent, DirCreatedEvent,
           DirDeletedEvent, DirMovedEvent]


@dataclass
class Changes:
    """What to look at again: these notebooks, or (``everything``) a full walk of the folder."""

    paths: set[Path] = field(default_factory=set)
    everything: bool = False

    def __bool__(self) -> bool:
        return self.everything or bool(self.paths)


class NotebookWatcher:
    """Collects ``*.ipynb`` events under ``directory`` (minus hidden folders and ``exclude``) until taken."""

    def __init__(self, directory: Path, exclude: tuple[Path, ...] = ()):
        self.directory = directory
        self.exclude = tuple(str(p) for p in exclude)
        self._lock = threading.Lock()
        self._pending = Changes(everything=True)  # the first look walks the folder
        self._observer: Observer | None = None
        self.watching = False

    def start(self) -> None:
        """Watch the folder; if that is impossible, say so once and rely on periodic walks."""
        try:
            observer = Observer()
            observer.schedule(_Handler(self), str(self.directory), recursive=True, event_filter=WATCHED)
            observer.daemon = True
            observer.start()
        except Exception as exc:  # no inotify watches left, an unsupported file system...
            log.warning("cannot watch %s for changes (%s: %s); walking it every %gs instead", self.directory,
                        type(exc).__name__, exc, UNWATCHED_RESCAN)
            return
        self._observer, self.watching = observer, True

    def stop(self) -> None:
        observer = self._observer
        if observer is not None:
            observer.stop()
            observer.join(timeout=5)
            self._observer, self.watching = None, False

    @property
    def rescan_every(self) -> float:
        return FALLBACK_RESCAN if self.watching else UNWATCHED_RESCAN

    def take(self) -> Changes:
        """What changed since the last call (and forget it)."""
        with self._lock:
            taken, self._pending = self._pending, Changes()
        return taken

    def everything(self) -> None:
        """Ask for a full walk at the next look (the periodic fallback)."""
        with self._lock:
            self._pending.everything = True

    def note(self, path: str, is_directory: bool) -> None:
        """An event on ``path``: a notebook to re-read, or a folder whose notebooks need a walk to be known."""
        if path.startswith(self.exclude) or _hidden(path, str(self.directory)):
            return
        with self._lock:
            if is_directory:
                self._pending.everything = True
            elif path.endswith(".ipynb"):
                self._pending.paths.add(Path(path))


def _hidden(path: str, root: str) -> bool:
    relative = path[len(root):] if path.startswith(root) else path
    return any(part.startswith(".") for part in relative.split("/") if part)


class _Handler(FileSystemEventHandler):  # type: ignore[misc]
    """watchdog's callback: every event (created, modified, deleted, moved: both ends) is passed on as a path."""

    def __init__(self, watcher: NotebookWatcher):
        super().__init__()
        self.watcher = watcher

    def on_any_event(self, event: object) -> None:
        kind = getattr(event, "event_type", "")
        if kind in ("opened", "closed_no_write"):
            return  # reading a notebook (the scheduler, a run) changes nothing
        directory = bool(getattr(event, "is_directory", False))
        if directory and kind == "modified":
            return  # a file inside changed: that file has its own event
        for attribute in ("src_path", "dest_path"):
            path = getattr(event, attribute, "")
            if path:
                self.watcher.note(str(path if isinstance(path, str) else path.decode()), directory)
