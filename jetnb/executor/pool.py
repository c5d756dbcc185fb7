"""A backend with kernels started ahead of time: a run takes a fresh, already running kernel.

Starting a kernel costs about a second; a warm one runs a small notebook in
tens of milliseconds. The pool keeps ``size`` kernels started in the
background; each run takes one, and the kernel is shut down after that run
(never reused: state would leak between runs). Kernels start in a neutral
folder; the run's bootstrap moves the kernel to the notebook's folder.
Kernels start without jetnb's own credentials in their environment; the
run's bootstrap removes what only the run knows to withhold (its secrets).
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from ..protocol import RunOutcome
from ..secrets.environment import kernel_environment, withheld
from . import Observer, RunRequest
from .cancel import CancelSignal
from .fastimport import one_importer
from .kernel_stderr import filtered_stderr
from .local import LocalBackend

DEFAULT_SIZE = 2


class KernelPool:
    """Started kernel managers for one kernel name, refilled by a daemon thread."""

    def __init__(self, kernel_name: str = "python3", size: int = DEFAULT_SIZE):
        self.kernel_name = kernel_name
        self.size = size
        self._ready: queue.Queue[Any] = queue.Queue()
        self._wanted = threading.Semaphore(0)
        self._closed = threading.Event()
        for _ in range(size):
            self._wanted.release()
        threading.Thread(target=self._fill, name=f"jetnb-kernel-pool-{kernel_name}", daemon=True).start()

    def _start(self) -> Any:
        with one_importer():  # this thread's first imports may meet a run's (papermill, jupyter_client, IPython)
            from .run_kernel import new_manager

        manager = new_manager(self.kernel_name)
        stderr = filtered_stderr()
        try:
            manager.start_kernel(stderr=stderr, env=kernel_environment(withheld()))
        finally:
            stderr.close()
        return manager

    def _fill(self) -> None:
        while True:
            self._wanted.acquire()
            if self._closed.is_set():
                return
            try:
                self._ready.put(self._start())
            except Exception:  # a kernel that fails to start is started on demand instead, with its error
                self._ready.put(None)

    def take(self) -> Any:
        """A started kernel manager; waits for the one being started, or starts one if the pool is empty."""
        self._wanted.release()
        manager = self._ready.get()
        return manager if manager is not None else self._start()

    def close(self) -> None:
        self._closed.set()
        self._wanted.release()
        while not self._ready.empty():
            manager = self._ready.get_nowait()
            if manager is not None:  # it never ran anything: nothing to let finish, so no shutdown request
                manager.shutdown_kernel(now=True)


class PooledBackend(LocalBackend):
    """LocalBackend on pre-started kernels; kernels with other names than the pool's start on demand."""

    name = "pool"

    def __init__(self, size: int = DEFAULT_SIZE, kernel_name: str = "python3"):
        self.pool = KernelPool(kernel_name, size)

    def execute(self, request: RunRequest, observer: Observer, cancel: CancelSignal) -> RunOutcome:
        if request.kernel_name != self.pool.kernel_name:
            return super().execute(request, observer, cancel)
        manager = self.pool.take()
        try:
            return self._execute(request, observer, cancel, km=manager)
        finally:  # a graceful shutdown takes a moment; the run's caller need not wait for it
            threading.Thread(target=manager.shutdown_kernel, name="jetnb-kernel-shutdown", daemon=True).start()

    def close(self) -> None:
        self.pool.close()
