"""A kernel forked by the zygote, behind jupyter_client's usual manager: ``ForkedKernelManager``.

Its provisioner (``ZygoteProvisioner``) asks the zygote (``zygote_process.py``)
to fork instead of starting a process, so ``is_alive``, ``interrupt_kernel``
(SIGINT to the kernel's process group), ``shutdown_kernel`` (a shutdown
request, then signals after the grace period) and ``client()`` behave as
with any kernel; restarting is refused, as a run never reuses a kernel. The
provisioner holds a pidfd of the kernel: signals can never reach a
recycled pid. Where the zygote cannot fork (see ``ForkUnavailable``), the
same provisioner starts an ordinary kernel and the reason is logged once.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from typing import Any, cast

from jupyter_core.utils import run_sync

from .run_kernel import RunKernelClient, RunKernelManager, RunProvisioner
from .zygote_process import EXIT_TIMEOUT, ForkedChild, ForkUnavailable, ZygoteProcess, kernel_args


class ZygoteProvisioner(RunProvisioner):
    """A run kernel's provisioner, except that the kernel is forked by the zygote when it can be.

    Everything else (connection file, ports, environment from the kernel
    spec) is the run provisioner's; when the zygote cannot fork, this is
    exactly the run provisioner.
    """

    child: ForkedChild | None = None

    @property
    def has_process(self) -> bool:
        return self.child is not None or super().has_process

    async def launch_kernel(self, cmd: list[str], **kwargs: Any) -> Any:
        assert isinstance(self.parent, ForkedKernelManager)
        zygote = self.parent.zygote
        cwd = str(kwargs.get("cwd") or os.getcwd())
        try:
            self.child = zygote.fork(kernel_args(cmd), cwd, dict(kwargs["env"]))
        except ForkUnavailable as exc:
            zygote.say_once(str(exc))
            return await super().launch_kernel(cmd, **kwargs)
        self.pid = self.pgid = self.child.pid
        self.cwd = cwd
        return self.connection_info

    async def poll(self) -> int | None:
        """None while the kernel runs; its exit status is the zygote's to reap, so 0 once it has exited."""
        child = self.child  # read once: a shutdown in another thread may clear it meanwhile
        if child is None:
            return await super().poll()
        return None if child.alive() else 0

    async def wait(self) -> int | None:
        child = self.child
        if child is None:
            return await super().wait()
        deadline = time.monotonic() + EXIT_TIMEOUT
        while child.alive():
            if time.monotonic() > deadline:
                raise TimeoutError(f"forked kernel {child.pid} still runs {EXIT_TIMEOUT:g}s after its end")
            await asyncio.sleep(0.05)
        child.close()
        self.child = None
        return 0

    async def send_signal(self, signum: int) -> None:
        child = self.child
        if child is None:
            return await super().send_signal(signum)
        child.signal_group(signum)

    async def kill(self, restart: bool = False) -> None:
        if self.child is None:
            return await super().kill(restart)
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart: bool = False) -> None:
        if self.child is None:
            return await super().terminate(restart)
        await self.send_signal(signal.SIGTERM)


class ForkedKernelManager(RunKernelManager):
    """A KernelManager whose kernel comes from the zygote (``ZygoteProvisioner``); never restarted."""

    provisioner_class = ZygoteProvisioner

    def __init__(self, zygote: ZygoteProcess, **kwargs: Any):
        super().__init__(**kwargs)
        self.zygote = zygote
        self._clients: list[RunKernelClient] = []

    async def _async_restart_kernel(self, now: bool = False, newports: bool = False, **kw: Any) -> None:
        raise RuntimeError("a forked kernel is never restarted: each run gets a new one")

    restart_kernel = run_sync(_async_restart_kernel)

    def client(self, **kwargs: Any) -> RunKernelClient:  # type: ignore[override]
        """A client as usual; remembered, so ``release`` can close its sockets (nbclient leaves them open)."""
        kc = cast(RunKernelClient, super().client(**kwargs))
        self._clients.append(kc)
        return kc

    def release(self) -> None:
        """After the run: close the clients' channels now, shut the kernel down in the background."""
        for kc in self._clients:
            kc.stop_channels()
        self._clients.clear()
        if self.has_kernel:  # a graceful shutdown takes a moment; the run's caller need not wait for it
            threading.Thread(target=self.shutdown_kernel, name="jetnb-kernel-shutdown", daemon=True).start()
