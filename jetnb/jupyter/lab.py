"""What the server extension knows about the Lab it serves: its root, its store and run logs, and one worker thread.

Every request that reads the store or the notebooks runs on the worker thread
(``Lab.work``): a scan of a large Lab root or a busy SQLite file must never
stall Jupyter's event loop, which also carries every kernel's messages. One
thread, not a pool, so the workflow cache is only ever touched by one thread.
Runs go through the run service (``service/runs.py``) with the ``Threads``
strategy, as widget runs do: each run executes in a thread of the Jupyter
server once the store admits it.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from ..client.local import DEFAULT_RUNS_DIR
from ..clock import clock_from_env
from ..service.runs import RunService
from ..service.strategies import Threads
from ..protocol import Principal
from ..store import Database, Store
from ..store.db import DEFAULT_PATH
from .serve_process import ServeProcess
from .workflows import LabWorkflows

T = TypeVar("T")


class Lab:
    """The Lab root (Jupyter's ``root_dir``), its store (``$JETNB_STORE``, else ``.jetnb/jetnb.db`` under the root)
    and its run logs (``runs/`` under the root), as ``jetnb run`` started in the root would use them."""

    def __init__(self, root: Path, store_path: Path, runs_dir: Path):
        self.root = root.resolve()
        self.store_path = store_path
        self.runs_dir = runs_dir.resolve()
        self.workflows = LabWorkflows(self.root, exclude=self.runs_dir)
        self.service = RunService(Database(store_path), runs_dir=self.runs_dir, strategy=Threads())
        self.serve = ServeProcess(self.root, store_path, self.runs_dir)
        self.clock = clock_from_env()  # what "next fire" is counted from; a test's fake clock too
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="jetnb-lab")

    @classmethod
    def for_root(cls, root: Path) -> Lab:
        store = Path(os.environ.get("JETNB_STORE") or DEFAULT_PATH)
        return cls(root, store if store.is_absolute() else root / store, root / DEFAULT_RUNS_DIR)

    async def work(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(store, *args)`` on the worker thread, with that thread's store connection."""
        return await asyncio.get_running_loop().run_in_executor(self._worker, self._call, fn, args)

    def _call(self, fn: Callable[..., T], args: tuple[Any, ...]) -> T:
        return fn(self.service.store(), *args)

    def notebook(self, lab_path: str) -> Path:
        """The file behind a Lab path (as the contents API names it); LookupError unless it is a notebook in the root."""
        path = (self.root / lab_path.lstrip("/")).resolve()
        if not path.is_relative_to(self.root) or path.suffix != ".ipynb" or not path.is_file():
            raise LookupError(f"no notebook {lab_path!r} in the Lab root")
        return path


def principal(username: str, store: Store) -> Principal:
    """The jetnb user a Jupyter user is: Jupyter's ``username``, with the groups the store gives that name
    (``jetnb users add NAME --group G``); never ``admin``, whatever Jupyter thinks of them."""
    return Principal(username, store.user_groups(username))
