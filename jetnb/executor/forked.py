"""Kernels forked from a warm zygote (the ``forked`` backend): a new process per run, without a second of imports.

``ZygoteProcess`` is the manager's side of ``python -m jetnb.executor.zygote``
(see that module for the protocol). ``ForkedKernelManager`` is an ordinary
jupyter_client ``KernelManager`` whose provisioner asks the zygote to fork
instead of starting a process, so ``is_alive``, ``interrupt_kernel`` (SIGINT
to the kernel's process group), ``shutdown_kernel`` (a shutdown request,
then signals after the grace period) and ``client()`` behave as with any
kernel; restarting is refused, as a run never reuses a kernel. The
provisioner holds a pidfd of the kernel: signals can never reach a
recycled pid.

Where the zygote cannot fork for a run (no ``fork``/pidfd on this system,
a kernel name that is not the zygote's Python with ipykernel, a zygote
that cannot start, a refused fork), the same provisioner starts an
ordinary kernel, and the reason is logged once, not once per run.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from typing import Any, cast

from jupyter_client.provisioning.local_provisioner import LocalProvisioner
from jupyter_core.utils import run_sync

from ..protocol import RunOutcome
from ..secrets.environment import kernel_environment, withheld
from . import Observer, RunRequest
from .cancel import CancelSignal
from .kernel_stderr import filtered_stderr
from .local import LocalBackend
from .run_kernel import RunKernelClient, RunKernelManager
from .warm import WarmKernels, wanted_size
from .zygote import MAX_MESSAGE

log = logging.getLogger("jetnb")

START_TIMEOUT = 120.0  # seconds for the zygote's imports (pandas and the like on a busy machine)
REPLY_TIMEOUT = 30.0  # seconds for a fork request (the zygote waits 10 s at most for the new kernel's setup)
STOP_TIMEOUT = 5.0  # seconds for the zygote to end once told to
EXIT_TIMEOUT = 30.0  # seconds ``wait`` gives a kernel already told to exit
PYTHON_NAMES = {"python", f"python{sys.version_info[0]}", "python{}.{}".format(*sys.version_info[:2])}
# The zygote runs as `python -Xfrozen_modules=off`, as `ipykernel install` writes kernel specs (debugpy wants it),
# so it serves both those specs and the native one (the same code either way).
PYTHON_OPTIONS = ["-Xfrozen_modules=off"]


class ForkUnavailable(RuntimeError):
    """The zygote cannot fork this run's kernel; an ordinary kernel starts instead."""


def platform_problem() -> str | None:
    """Why forked kernels cannot work on this system at all, or None."""
    if not hasattr(os, "fork"):
        return "this platform has no fork()"
    if not (hasattr(os, "pidfd_open") and hasattr(socket, "send_fds") and os.path.isdir("/proc/self/task")):
        return "forked kernels need Linux (pidfd_open, SCM_RIGHTS, /proc)"
    return None


def kernel_args(cmd: list[str]) -> list[str]:
    """The arguments after ``python -m ipykernel_launcher`` when ``cmd`` runs ipykernel on the zygote's Python."""
    python = sys.executable if cmd and cmd[0] in PYTHON_NAMES else os.path.abspath(cmd[0]) if cmd else ""
    rest = cmd[1:]
    while rest and rest[0] in PYTHON_OPTIONS:
        rest = rest[1:]
    if python != sys.executable or rest[:2] != ["-m", "ipykernel_launcher"]:
        raise ForkUnavailable(f"kernel command {' '.join(cmd[:3])!r} is not ipykernel on the zygote's Python "
                              f"({sys.executable})")
    return rest[2:]


class ForkedChild:
    """A kernel forked by the zygote, held by a pidfd: liveness and signals without the pid-reuse race."""

    def __init__(self, pid: int, pidfd: int, zygote_pid: int | None = None):
        self.pid = pid
        self.zygote_pid = zygote_pid  # the zygote that forked it
        self._pidfd = pidfd
        self._lock = threading.Lock()

    def alive(self) -> bool:
        with self._lock:
            return self._alive()

    def _alive(self) -> bool:
        if self._pidfd < 0:
            return False
        poller = select.poll()
        poller.register(self._pidfd, select.POLLIN)  # a pidfd reads ready once the process has exited
        return not poller.poll(0)

    def signal_group(self, signum: int) -> None:
        """Signal the kernel's process group (it leads its own session), as jupyter_client does for its kernels."""
        with self._lock:
            if self._alive():
                try:
                    os.killpg(self.pid, signum)
                except ProcessLookupError:
                    pass

    def close(self) -> None:
        with self._lock:
            if self._pidfd >= 0:
                os.close(self._pidfd)
                self._pidfd = -1


class ZygoteProcess:
    """The manager's side of one zygote: started at once, asked to fork, replaced if it dies, stopped at close."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._process: subprocess.Popen[bytes] | None = None
        self._control: socket.socket | None = None
        self._ready = False
        self._broken = platform_problem()  # once set, never retried: every run takes an ordinary kernel
        self._children: set[ForkedChild] = set()
        self._said: set[str] = set()
        self.info: dict[str, Any] = {}
        if self._broken is None:
            try:
                self._spawn()  # the zygote imports while the server starts; the first fork waits for it
            except ForkUnavailable:
                pass  # said at the first run, which takes an ordinary kernel

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def usable(self) -> bool:
        """Whether forking may work (the zygote has not failed for good): warm kernels are worth starting."""
        return self._broken is None

    def forked_by_current(self, km: ForkedKernelManager) -> bool:
        """Whether ``km``'s kernel is an ordinary one, or forked by the zygote now running (a kernel of a zygote that
        died exits within a second: ipykernel watches its parent)."""
        provisioner = km.provisioner
        if not isinstance(provisioner, ZygoteProvisioner) or provisioner.child is None:
            return True
        with self._lock:
            process = self._process
            return process is not None and process.poll() is None and provisioner.child.zygote_pid == process.pid

    def say_once(self, reason: str) -> None:
        """Log why a run takes an ordinary kernel, the first time only."""
        with self._lock:
            if reason in self._said:
                return
            self._said.add(reason)
            log.warning("forked kernels: %s; starting an ordinary kernel instead", reason)

    def fork(self, argv: list[str], cwd: str, env: dict[str, str]) -> ForkedChild:
        """A new kernel process; ``ForkUnavailable`` when the zygote cannot make one, ``RuntimeError`` when the
        kernel itself could not start (its folder is missing)."""
        with self._lock:
            reply, fds = self._ask_with_restart({"argv": argv, "cwd": cwd, "env": env})
            if "refused" in reply:
                raise ForkUnavailable(reply["refused"])
            if "error" in reply:
                raise RuntimeError(reply["error"])
            child = ForkedChild(reply["pid"], fds[0], self.pid)
            for gone in [c for c in self._children if not c.alive()]:
                gone.close()  # its provisioner may not have waited for it; a closed pidfd reads as not alive
                self._children.discard(gone)
            self._children.add(child)
            return child

    def close(self) -> None:
        """Kill the kernels still running, then end the zygote (end of file: it kills what it has left too)."""
        with self._lock:
            self._broken = "the forked backend is closed"
            for child in self._children:
                child.signal_group(signal.SIGKILL)
                child.close()
            self._children.clear()
            self._end()

    def _ask_with_restart(self, request: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
        """One request; a zygote that died since the last one is replaced (said in one log line) and asked again."""
        for _ in range(2):
            self._ensure_running()
            try:
                return self._ask(request)
            except (OSError, EOFError, ValueError) as exc:
                self._replace(f"stopped answering ({type(exc).__name__}: {exc})")
        raise ForkUnavailable("the kernel zygote died twice in a row")

    def _ensure_running(self) -> None:
        if self._broken is not None:
            raise ForkUnavailable(self._broken)
        if self._process is not None and self._process.poll() is not None:
            self._replace(f"exited with status {self._process.returncode}")
        if self._process is None:
            self._spawn()
        if not self._ready:
            self._await_ready()

    def _spawn(self) -> None:
        mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        stderr = filtered_stderr()  # kernels inherit the zygote's stderr: one filter for all of them
        try:
            self._process = subprocess.Popen(
                [sys.executable, *PYTHON_OPTIONS, "-m", "jetnb.executor.zygote", "--control-fd", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stderr=stderr,
                env=kernel_environment(withheld()),  # its kernels' first environment: no credential jetnb knows of
                start_new_session=True)  # a Ctrl-C at the terminal is the server's to handle, not the zygote's
        except OSError as exc:
            mine.close()
            self._broken = f"the kernel zygote could not start: {exc}"
            raise ForkUnavailable(self._broken) from exc
        finally:
            stderr.close()
            theirs.close()
        self._control, self._ready = mine, False

    def _await_ready(self) -> None:
        assert self._control is not None
        try:
            message, _ = self._receive(time.monotonic() + START_TIMEOUT)
        except (OSError, EOFError, ValueError) as exc:
            message = {"error": f"{type(exc).__name__}: {exc}"}
        if not message.get("ready"):
            self._broken = f"the kernel zygote could not start: {message.get('error')}"
            self._end()
            raise ForkUnavailable(self._broken)
        self.info, self._ready = message, True
        if message["failed"]:  # a person's JETNB_ZYGOTE_IMPORTS deserves a warning; the built-in lists do not
            level = logging.WARNING if message["chosen"] else logging.DEBUG
            log.log(level, "forked kernels: the zygote could not import %s", message["failed"])
        log.debug("kernel zygote %s ready in %.2fs, imported %s", message["pid"], message["seconds"],
                  message["imported"])

    def _ask(self, request: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
        """Send one request and wait for its answer; an answer to an abandoned request has its kernel killed."""
        assert self._control is not None
        request = {**request, "id": next(self._ids)}
        data = json.dumps(request).encode()
        if len(data) > MAX_MESSAGE:
            raise ForkUnavailable(f"a fork request of {len(data)} bytes is over the zygote's {MAX_MESSAGE}")
        self._control.settimeout(REPLY_TIMEOUT)
        self._control.send(data)
        deadline = time.monotonic() + REPLY_TIMEOUT
        while True:  # bounded by the deadline: _receive times out
            reply, fds = self._receive(deadline)
            if reply.get("id") == request["id"]:
                return reply, fds
            for fd in fds:  # its caller was interrupted (a run stopped at shutdown): nobody will run that kernel
                stray = ForkedChild(reply["pid"], fd)
                stray.signal_group(signal.SIGKILL)
                stray.close()

    def _receive(self, deadline: float) -> tuple[dict[str, Any], list[int]]:
        assert self._control is not None
        self._control.settimeout(max(deadline - time.monotonic(), 0.001))
        data, fds, _, _ = socket.recv_fds(self._control, MAX_MESSAGE, 1)
        if not data:
            raise EOFError("the zygote closed its end")
        return json.loads(data), list(fds)

    def _replace(self, why: str) -> None:
        log.warning("forked kernels: the kernel zygote (pid %s) %s; starting a new one", self.pid, why)
        self._end()

    def _end(self) -> None:
        """Close our end (the zygote's cue to kill its kernels and exit) and reap it, killing it if it lingers."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None:
            try:
                self._process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(STOP_TIMEOUT)
            self._process = None
        self._ready = False


class ZygoteProvisioner(LocalProvisioner):
    """jupyter_client's local provisioner, except that the kernel is forked by the zygote when it can be.

    Everything else (connection file, ports, environment from the kernel
    spec) is the local provisioner's; when the zygote cannot fork, this is
    exactly the local provisioner.
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

    def __init__(self, zygote: ZygoteProcess, **kwargs: Any):
        super().__init__(**kwargs)
        self.zygote = zygote
        self._clients: list[RunKernelClient] = []

    async def _async_pre_start_kernel(self, **kw: Any) -> tuple[list[str], dict[str, Any]]:
        if self.provisioner is None:
            self.kernel_id = self.kernel_id or str(uuid.uuid4())
            self.provisioner = ZygoteProvisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
        return await super()._async_pre_start_kernel(**kw)

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
