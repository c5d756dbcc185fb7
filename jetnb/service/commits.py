"""Group commit: writes acknowledged to callers (a webhook's 202, an API's run id) share one durable commit.

A durable commit (``synchronous=FULL``) waits for the disk; doing one per
delivery caps a server at a few hundred deliveries a second. Here callers
hand their writes (``submit``) to one thread, which runs every write that
arrived meanwhile in one transaction, each inside a savepoint so that one
failing write (a duplicate delivery id) rolls back alone, commits once, and
only then resolves each caller's future. A caller that answers after its
future resolves has promised only what is on disk.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar

from ..store import Database, Store

log = logging.getLogger("jetnb")
T = TypeVar("T")
MAX_BATCH = 512  # writes per commit at most: a batch's transaction stays short for the other writers


@dataclass
class Write(Generic[T]):
    """One caller's writes, what to do once they are committed, and the future it waits on."""

    work: Callable[[Store], T]
    then: Callable[[T], None] | None = None
    future: Future[T] = field(default_factory=Future)


class GroupCommit:
    """One thread committing batches of writes on a durable connection of ``db``."""

    def __init__(self, db: Database):
        self.db = db
        self._queue: queue.SimpleQueue[Write[Any] | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="jetnb-group-commit", daemon=True)
        self._closed = False
        self._lock = threading.Lock()
        self.writes = self.batches = 0  # how well writes were grouped: logged at close
        self._thread.start()

    def submit(self, work: Callable[[Store], T], then: Callable[[T], None] | None = None) -> Future[T]:
        """Run ``work`` in the next batch; the future resolves (``then`` called first) once it is committed."""
        write: Write[T] = Write(work, then)
        with self._lock:
            if not self._closed:
                self._queue.put(write)
                return write.future
        write.future.set_exception(RuntimeError("the server is stopping: nothing more is accepted"))
        return write.future

    def close(self) -> None:
        """Commit what was submitted, then end the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join(timeout=30)
        log.debug("group commit: %d write(s) in %d commit(s)", self.writes, self.batches)

    def _run(self) -> None:
        store = self.db.store(durable=True)
        try:
            while (first := self._queue.get()) is not None:
                batch = [first]
                while len(batch) < MAX_BATCH:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    if item is None:
                        self._queue.put(None)  # end after this batch
                        break
                    batch.append(item)
                self._commit(store, batch)
                self.writes, self.batches = self.writes + len(batch), self.batches + 1
        finally:
            self.db.release()

    @staticmethod
    def _commit(store: Store, batch: list[Write[Any]]) -> None:
        outcomes: list[tuple[Write[Any], BaseException | None, Any]] = []
        try:
            with store.transaction():
                for write in batch:
                    try:
                        with store.savepoint():
                            outcomes.append((write, None, write.work(store)))
                    except Exception as exc:  # this caller's failure (its writes rolled back), not the batch's
                        outcomes.append((write, exc, None))
        except Exception as exc:  # the commit itself failed: nothing of the batch is on disk
            for write in batch:
                write.future.set_exception(exc)
            return
        for write, error, value in outcomes:
            if error is not None:
                write.future.set_exception(error)
                continue
            if write.then is not None:
                try:
                    write.then(value)
                except Exception:
                    log.exception("after a group commit")
            write.future.set_result(value)
