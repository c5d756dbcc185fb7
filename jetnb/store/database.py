"""``Database``: the store file shared by the threads of one process, a connection per thread.

SQLite connections (and their transactions) must not be shared across
threads, so every thread that touches the store asks the ``Database`` for
its own ``Store``; ``close`` closes them all when the process is done.
"""

from __future__ import annotations

import threading
from pathlib import Path

from .store import Store


class Database:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._local = threading.local()
        self._stores: list[Store] = []
        self._lock = threading.Lock()

    def store(self, *, durable: bool = False) -> Store:
        """This thread's connection. Threads that acknowledge work to a caller ask for ``durable`` commits."""
        store = getattr(self._local, "store", None)
        if store is None:
            store = self._local.store = Store(self.path, durable=durable)
            with self._lock:
                self._stores.append(store)
        return store

    def release(self) -> None:
        """Close this thread's connection (a thread that is about to end)."""
        store = getattr(self._local, "store", None)
        if store is not None:
            self._local.store = None
            with self._lock:
                self._stores.remove(store)
            store.close()

    def close(self) -> None:
        with self._lock:
            for store in self._stores:
                store.close()
            self._stores.clear()
        self._local = threading.local()
