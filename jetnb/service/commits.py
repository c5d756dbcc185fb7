"""Group commit: writes acknowledged to callers (a webhook's 202, an API's run id) share one durable commit.

A durable commit (``synchronous=FULL``) waits for the disk; doing one per
delivery caps a server at a few hundred deliveries a second. Here callers
hand their writes to one thread, which commits every write that arrived
meanwhile in one transaction and only then resolves each caller's future.
A caller that answers after its future resolves has promised only what is
on disk.

Two kinds of write share a batch:

- new runs (``accept``): rows, written for the whole batch in a few
  statements (``store/intake.py``), their delivery ids deduplicated there;
  a refused one (``AlreadyDelivered``) writes nothing and fails alone;
- anything else (``submit``): a function of the store, run inside its own
  savepoint so that one failing write rolls back alone.

The thread competes for the interpreter with the server's event loop, and
each SQLite statement lets the other thread in; so a batch costs a fixed
handful of statements, not several per write, and the log gets one line
per batch, not one per write.
"""

from __future__ import annotations

import logging
import queue
import threading
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, Callable, Generic, TypeVar, Union

from ..store import Database, Store
from ..store.intake import NewRun

log = logging.getLogger("jetnb")
T = TypeVar("T")
MAX_BATCH = 512  # writes per commit at most: a batch's transaction stays short for the other writers
AuditEntry = tuple[str, str, str, dict[str, Any]]  # (actor, action, subject, detail with the log line's "message")


@dataclass
class Write(Generic[T]):
    """One caller's writes, what to do once they are committed, and the future it waits on."""

    work: Callable[[Store], T]
    then: Callable[[T], None] | None = None
    future: Future[T] = field(default_factory=Future)


@dataclass
class Accepted:
    """One new run to record; ``note`` (given its id) is the audit entry written with it and logged after."""

    new: NewRun
    then: Callable[[str], None] | None = None
    note: Callable[[str], AuditEntry] | None = None
    future: Future[str] = field(default_factory=Future)


Item = Union[Write[Any], Accepted]


class GroupCommit:
    """One thread committing batches of writes on a durable connection of ``db``."""

    def __init__(self, db: Database):
        self.db = db
        self._queue: queue.SimpleQueue[Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="jetnb-group-commit", daemon=True)
        self._closed = False
        self._lock = threading.Lock()
        self.writes = self.batches = 0  # how well writes were grouped: logged at close
        self._thread.start()

    def submit(self, work: Callable[[Store], T], then: Callable[[T], None] | None = None) -> Future[T]:
        """Run ``work`` in the next batch; the future resolves (``then`` called first) once it is committed."""
        return self._put(Write(work, then))

    def accept(self, new: NewRun, then: Callable[[str], None] | None = None,
               note: Callable[[str], AuditEntry] | None = None) -> Future[str]:
        """Record ``new`` in the next batch; the future resolves to its run id (``then`` called first) once it is
        committed, or to AlreadyDelivered when one of its delivery ids was recorded before."""
        return self._put(Accepted(new, then, note))

    def _put(self, item: Any) -> Future[Any]:
        with self._lock:
            if not self._closed:
                self._queue.put(item)
                return item.future
        item.future.set_exception(RuntimeError("the server is stopping: nothing more is accepted"))
        return item.future

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
    def _commit(store: Store, batch: list[Item]) -> None:
        accepted = [item for item in batch if isinstance(item, Accepted)]
        outcomes: list[tuple[Item, BaseException | None, Any]] = []
        notes: list[AuditEntry] = []
        try:
            with store.transaction():
                if accepted:
                    for item, made in zip(accepted, store.create_runs([item.new for item in accepted])):
                        failed = isinstance(made, Exception)
                        outcomes.append((item, made if failed else None, None if failed else made))
                        if not failed and item.note is not None:
                            notes.append(item.note(made))
                    store.audit_many(notes)
                for write in batch:
                    if isinstance(write, Write):
                        try:
                            with store.savepoint():
                                outcomes.append((write, None, write.work(store)))
                        except Exception as exc:  # this caller's failure (its writes rolled back), not the batch's
                            outcomes.append((write, exc, None))
        except Exception as exc:  # the commit itself failed: nothing of the batch is on disk
            for item in batch:
                item.future.set_exception(exc)
            return
        for item, error, value in outcomes:
            if error is not None:
                item.future.set_exception(error)
                continue
            if item.then is not None:
                try:
                    item.then(value)
                except Exception:
                    log.exception("after a group commit")
            item.future.set_result(value)
        _log_notes(notes)


def _log_notes(notes: list[AuditEntry]) -> None:
    """One line for a batch's notes (they are each in the audit log): under load, not a line per delivery."""
    if not notes:
        return
    kind = notes[0][1].partition(".")[2]
    if len(notes) == 1:
        log.info("%s: %s", kind, notes[0][3]["message"])
    else:
        log.info("%s: %d accepted in one commit: %s ... %s", kind, len(notes), notes[0][3]["message"],
                 notes[-1][3]["message"])
