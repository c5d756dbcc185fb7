"""Warm kernels: forked from the zygote and started ahead of time, so a run takes a kernel that already serves.

Forking is quick; what a forked kernel still does before its first cell
(``IPKernelApp`` initialisation: sockets, the shell, its threads) is most
of a small run's time. ``WarmKernels`` keeps ``size`` kernels forked in a
neutral folder with the environment a run gets now (this process's, minus
every name jetnb withholds); their initialisation overlaps with whatever
the server is doing. A run takes one only if that environment is exactly
the run's: a kernel forked before a name was withheld (a secret learnt
since) is shut down unused, never handed out. The run binds what is its own
at bootstrap (``runtime.bootstrap.configure`` moves it to the notebook's
folder and gives it the run context); nbclient connects its client to a
kernel that answers at once. Each kernel serves one run and is then shut
down, never returned: runs share nothing. The pool forks a replacement
when that run ends (forking and initialising a kernel takes CPU the run
would otherwise compete for). A kernel that died while waiting is dropped, and a
run asking while none is ready gets one forked for it (as before).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
from collections import deque
from typing import TYPE_CHECKING, Any, Callable

from ..secrets.environment import kernel_environment, withheld

if TYPE_CHECKING:
    from . import RunRequest

Manager = Any  # a ForkedKernelManager (``forked.py``, which imports this module): started, released with ``release()``

log = logging.getLogger("jetnb")
SIZE_ENV = "JETNB_WARM_KERNELS"
DEFAULT_SIZE = 4  # jetnb serve's default --max-runs: every worker can find a kernel waiting


def wanted_size() -> int:
    """How many kernels to keep warm: ``$JETNB_WARM_KERNELS``, else ``DEFAULT_SIZE``; 0 turns the pool off."""
    try:
        return max(int(os.environ.get(SIZE_ENV, DEFAULT_SIZE)), 0)
    except ValueError:
        return DEFAULT_SIZE


class WarmKernels:
    """Kernels of one kernel name, forked ahead of time by a filler thread, each handed out once.

    ``new_manager(kernel_name)`` makes an unstarted manager whose kernel the zygote forks; ``current(km)`` says
    whether a started one's zygote is still the one running (the forked backend's ``ZygoteProcess``)."""

    def __init__(self, new_manager: Callable[[str], Manager], current: Callable[[Manager], bool],
                 size: int, kernel_name: str = "python3"):
        self.new_manager = new_manager
        self.current = current
        self.size = size
        self.kernel_name = kernel_name
        self.folder = tempfile.mkdtemp(prefix="jetnb-warm-")  # where waiting kernels start: nothing to read there
        self._ready: deque[tuple[Manager, dict[str, str]]] = deque()  # each with its environment
        self._cond = threading.Condition()
        self._closed = False
        self._serving = 0  # kernels taken whose run has not ended: their replacements wait (see ``done``)
        self._filler = threading.Thread(target=self._fill, name="jetnb-warm-kernels", daemon=True)
        self._filler.start()

    def take(self, request: RunRequest) -> Manager | None:
        """A started kernel that is still alive and whose environment is the run's, or None (then fork one)."""
        if request.kernel_name != self.kernel_name:
            return None
        wanted = request.env if request.env is not None else kernel_environment(withheld())
        stale: list[Manager] = []
        taken = None
        with self._cond:
            while self._ready and taken is None:
                km, env = self._ready.popleft()
                self._cond.notify()  # a kernel passed over is replaced now
                if env != wanted:
                    stale.append(km)  # forked before a name was withheld, or before the environment changed
                elif km.is_alive() and self.current(km):
                    taken = km
                    self._serving += 1
                else:
                    log.info("a warm kernel died while waiting (or its zygote did); dropped")
                    km.release()
        if stale:
            log.info("warm kernels: %d forked with another environment than the run's (changed since, or a name "
                     "withheld since); shut down unused", len(stale))
        for km in stale:
            km.release()
        return taken

    def done(self) -> None:
        """A run on a taken kernel has ended: fork its replacement now, not while the run needed the CPU."""
        with self._cond:
            self._serving = max(self._serving - 1, 0)
            self._cond.notify()

    def close(self) -> None:
        """Stop forking; shut down the kernels still waiting (the zygote kills any it has left when it ends)."""
        with self._cond:
            self._closed = True
            waiting = list(self._ready)
            self._ready.clear()
            self._cond.notify_all()
        self._filler.join(timeout=30)
        for km, _ in waiting:
            km.shutdown_kernel(now=True)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _fill(self) -> None:
        while True:
            with self._cond:
                while not self._closed and len(self._ready) + self._serving >= self.size:
                    self._cond.wait()
                if self._closed:
                    return
            env = kernel_environment(withheld())
            try:
                km = self._start(env)
            except Exception as exc:  # the zygote is gone for good, a full disk...: runs fork their own kernels
                log.warning("warm kernels: could not start one (%s: %s); runs start their own", type(exc).__name__,
                            exc)
                return
            with self._cond:
                if self._closed:
                    km.shutdown_kernel(now=True)
                    return
                self._ready.append((km, env))

    def _start(self, env: dict[str, str]) -> Manager:
        km = self.new_manager(self.kernel_name)
        km.start_kernel(cwd=self.folder, env=env)
        return km
