"""The kernel manager every run's kernel starts from: ipykernel told it runs headless, once per run.

A run's kernel is new for each run and thrown away after it, so IPython's
SQLite history is pure cost there: every cell is written to
``~/.ipython/profile_default/history.sqlite`` by a background thread (a
transaction per cell), and concurrent runs contend for that one file's
lock. ``HEADLESS`` turns it off (``In``, ``_i`` and ``%history`` of the run
itself still work, from memory). It also drops the 0.5 ms ipykernel sleeps
before each reply, for front ends that might show a reply before the
output it follows: nbclient waits for the kernel's idle status, which
comes after every output on the same channel. The options are added only
when the kernel's command runs ipykernel: other kernels do not know them.

Its client (``RunKernelClient``) is async, as nbclient's own default (a
blocking client never notices a kernel that dies in the middle of a cell),
and is ready after one kernel_info round trip (see its docstring).
"""

from __future__ import annotations

import importlib
import os
import sys
import time
import uuid
from queue import Empty
from typing import Any

import zmq
import zmq.asyncio
from jupyter_client import KernelManager
from jupyter_client.asynchronous import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.localinterfaces import is_local_ip
from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from jupyter_core.paths import jupyter_path

from .fastimport import one_importer
from .kernel_ports import kernel_port

HEADLESS = ["--HistoryManager.enabled=False", "--IPythonKernel._execute_sleep=0"]
SHELL_WAIT = 1.0  # seconds for a kernel_info reply before asking again, as jupyter_client's wait_for_ready does
IOPUB_WAIT = 0.05  # seconds for the reply's idle status on IOPub before asking again (it comes in ~1 ms)
STARTS_IMPORT = ("ipykernel.kernelspec", "psutil")  # what jupyter_client imports on a process's first kernel start
RECONNECT_IVL = 10  # ms between the client's attempts to reach a kernel that is still binding (ZMQ's default: 100)


def runs_ipykernel(cmd: list[str]) -> bool:
    """True for ``python -m ipykernel_launcher ...`` (and ``-m ipykernel``), whichever Python runs it."""
    return any(part in ("ipykernel_launcher", "ipykernel") and cmd[i - 1] == "-m" for i, part in enumerate(cmd) if i)


class RunKernelClient(AsyncKernelClient):
    """An async client whose ready check is one kernel_info round trip that also proves IOPub delivers.

    jupyter_client's ``wait_for_ready`` ends by draining IOPub until it has
    been quiet for 0.2 s: a fixed 0.2 s on every run's start, kernel started
    ahead or not. Here the kernel's idle status for our own kernel_info
    request is the proof that IOPub is subscribed; nothing else is awaited
    (nbclient ignores IOPub messages that answer other requests).
    """

    def _context_default(self) -> zmq.asyncio.Context:
        context = super()._context_default()
        context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_IVL)  # a kernel binds its ports a moment after it starts
        return context

    async def wait_for_ready(self, timeout: float | None = None) -> None:  # type: ignore[override]
        deadline = time.monotonic() + (timeout if timeout is not None else 60.0)
        while time.monotonic() < deadline:
            if await self._answered(self.kernel_info(), deadline):
                return
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
        raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")

    async def _answered(self, msg_id: str, deadline: float) -> bool:
        """The shell reply to ``msg_id``, then its idle status on IOPub; False if either is not there in time."""
        def idle(msg: dict[str, Any]) -> bool:
            return msg["msg_type"] == "status" and msg["content"].get("execution_state") == "idle"

        return (await _receive(self.shell_channel, msg_id, min(time.monotonic() + SHELL_WAIT, deadline))
                and await _receive(self.iopub_channel, msg_id, min(time.monotonic() + IOPUB_WAIT, deadline), idle))


async def _receive(channel: Any, msg_id: str, until: float, match: Any = None) -> bool:
    """Whether a message answering ``msg_id`` (and ``match``) arrives on ``channel`` before ``until``."""
    while (left := until - time.monotonic()) > 0:
        try:
            msg = await channel.get_msg(timeout=left)
        except Empty:
            return False
        if msg["parent_header"].get("msg_id") == msg_id and (match is None or match(msg)):
            return True
    return False


class RunKernelSpecs(KernelSpecManager):
    """jupyter_client's kernel specs, found without importing IPython.

    jupyter_client imports IPython (~0.1 s) only to name the legacy
    ``<IPython dir>/kernels`` folder; ``jetnb run`` looks the spec up before it
    launches the kernel, so that import would delay every run's kernel. The
    folder is the same: ``$IPYTHONDIR``, else ``~/.ipython`` (IPython's
    pre-1.x ``~/.config/ipython`` fallback is not looked at).
    """

    def _kernel_dirs_default(self) -> list[str]:
        ipython_dir = os.environ.get("IPYTHONDIR") or os.path.join("~", ".ipython")
        return [*jupyter_path("kernels"), os.path.join(os.path.normpath(os.path.expanduser(ipython_dir)), "kernels")]


class RunProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, with each TCP port drawn below the ephemeral range (``kernel_ports``)."""

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        km = self.parent
        if km is not None and km.transport == "tcp" and km.cache_ports and not self.ports_cached and is_local_ip(km.ip):
            km.shell_port, km.iopub_port, km.stdin_port, km.hb_port, km.control_port = (
                kernel_port(km.ip) for _ in range(5))
            self.ports_cached = True  # returned to jupyter_client's port cache at cleanup, as its own are
        return await super().pre_launch(**kwargs)


class RunKernelManager(KernelManager):
    """jupyter_client's manager, with ``HEADLESS`` added to an ipykernel command, ``RunKernelClient`` as its
    client, ``RunKernelSpecs`` as its kernel specs and ``provisioner_class`` as its provisioner (unless the kernel
    spec names one of its own)."""

    provisioner_class: type[LocalProvisioner] = RunProvisioner

    def __init__(self, **kwargs: Any):
        kwargs.setdefault("client_factory", RunKernelClient)
        super().__init__(**kwargs)

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if self.provisioner is None and self._local_provisioner():
            self.kernel_id = self.kernel_id or str(uuid.uuid4())
            self.provisioner = self.provisioner_class(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec,
                                                      parent=self)
        return await super()._async_pre_start_kernel(**kw)

    def _local_provisioner(self) -> bool:
        """Whether the kernel spec leaves its provisioner to jupyter_client's default, the local one."""
        named = (self.kernel_spec.metadata or {}).get("kernel_provisioner", {}).get("provisioner_name")
        return named in (None, "local-provisioner")

    def _kernel_spec_manager_default(self) -> KernelSpecManager:
        return RunKernelSpecs(data_dir=self.data_dir)

    def _context_default(self) -> zmq.Context:
        """jupyter_client's, with the client's short reconnect interval: the manager's control socket connects as the
        kernel starts, before the kernel binds; with ZMQ's default 100 ms its shutdown request reached the kernel
        ~0.13 s late."""
        context = super()._context_default()
        context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_IVL)
        return context

    def start_kernel(self, **kw: Any) -> None:
        """jupyter_client's, as ``one_importer`` until ``STARTS_IMPORT`` are imported: the first start in a
        process imports them from inside jupyter_client (IPython with them), while another thread (``jetnb
        run``'s validation, a server's catalog) may be importing IPython; two threads importing modules that
        import each other hand one of them a half-initialised module."""
        if all(name in sys.modules for name in STARTS_IMPORT):
            super().start_kernel(**kw)
            return
        with one_importer():
            super().start_kernel(**kw)

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        cmd: list[str] = super().format_kernel_cmd(extra_arguments)
        return [*cmd, *HEADLESS] if runs_ipykernel(cmd) else cmd


def import_what_starts_need() -> None:
    """Import ``STARTS_IMPORT`` now (under ``one_importer``), so that starting a kernel imports nothing."""
    for name in STARTS_IMPORT:
        importlib.import_module(name)


def new_manager(kernel_name: str, **kwargs: Any) -> RunKernelManager:
    """A run kernel's manager (``RunKernelClient`` as its client)."""
    return RunKernelManager(kernel_name=kernel_name, **kwargs)
