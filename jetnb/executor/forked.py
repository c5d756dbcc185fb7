"""Kernels forked from a warm zygote (the ``forked`` backend): a new process per run, without a second of imports.

The zygote (``zygote.py``) is started and asked to fork by ``ZygoteProcess``
(``zygote_process.py``); each kernel is a ``ForkedKernelManager``
(``forked_kernel.py``), an ordinary jupyter_client manager whose provisioner
asks the zygote. Warm kernels (``warm.py``) are forked ahead of runs. Where
the zygote cannot fork for a run (no ``fork``/pidfd on this system, a
kernel name that is not the zygote's Python with ipykernel, a zygote that
cannot start, a refused fork), an ordinary kernel starts instead, and the
reason is logged once, not once per run.
"""

from __future__ import annotations

from ..protocol import RunOutcome
from . import Observer, RunRequest
from .cancel import CancelSignal
from .forked_kernel import ForkedKernelManager
from .local import LocalBackend
from .warm import WarmKernels, wanted_size
from .zygote_process import ZygoteProcess


class ForkedBackend(LocalBackend):
    """LocalBackend on kernels forked from the zygote; an ordinary kernel where forking is not possible."""

    name = "forked"

    def __init__(self) -> None:
        self.zygote = ZygoteProcess()
        size = wanted_size()
        self.warm = (WarmKernels(lambda name: ForkedKernelManager(self.zygote, kernel_name=name),
                                 self.zygote.forked_by_current, size) if size and self.zygote.usable() else None)

    def execute(self, request: RunRequest, observer: Observer, cancel: CancelSignal) -> RunOutcome:
        """A warm kernel whose environment is the run's, else one forked when nbclient starts it (with the run's
        folder and environment)."""
        km = self.warm.take(request) if self.warm is not None else None
        warm = km is not None
        if km is None:
            km = ForkedKernelManager(self.zygote, kernel_name=request.kernel_name)
        try:
            return self._execute(request, observer, cancel, km=km)
        finally:
            km.release()
            if warm:
                self.warm.done()

    def close(self) -> None:
        if self.warm is not None:
            self.warm.close()
        self.zygote.close()
