"""The manager's side of ``python -m jetnb.executor.zygote``: start it, ask it to fork a kernel, stop it.

Kept apart from the kernel manager (``forked.py``) and free of
jupyter_client, so that ``jetnb run`` can start a zygote before it has
imported anything heavy (``head_start.py``): the zygote's imports then run
on the other core while the command parses, validates and imports
jupyter_client.
"""

from __future__ import annotations

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
from typing import Any

from ..secrets.environment import configuration_environment, withheld
from .kernel_stderr import StderrGate, filtered_stderr
from .zygote import IMPORTS_ENV, MAX_MESSAGE

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

    def __init__(self, imports: list[str] | None = None, stderr_gate: StderrGate | None = None) -> None:
        """``imports``: the notebook imports it loads ahead (None: ``JETNB_ZYGOTE_IMPORTS``, else the usual ones);
        ``stderr_gate``: where its kernels' stderr goes (default: ours)."""
        self._imports = imports
        self._gate = stderr_gate
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

    def forked_by_current(self, km: Any) -> bool:
        """Whether ``km``'s kernel is an ordinary one, or forked by the zygote now running (a kernel of a zygote that
        died exits within a second: ipykernel watches its parent)."""
        child = getattr(km.provisioner, "child", None)  # a ZygoteProvisioner's kernel, if forked
        if child is None:
            return True
        with self._lock:
            process = self._process
            return process is not None and process.poll() is None and child.zygote_pid == process.pid

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

    def close(self, now: bool = False) -> None:
        """Kill the kernels still running, then end the zygote (end of file: it kills what it has left too); ``now``
        kills it at once (it holds nothing of a run's: its exit would only tidy its own imports)."""
        with self._lock:
            self._broken = "the forked backend is closed"
            for child in self._children:
                child.signal_group(signal.SIGKILL)
                child.close()
            self._children.clear()
            self._end(now)

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
        stderr = filtered_stderr(self._gate)  # kernels inherit the zygote's stderr: one filter for all of them
        env = configuration_environment(withheld())  # its kernels' /proc/self/environ: see that function
        if self._imports is not None:
            env[IMPORTS_ENV] = ",".join(self._imports)
        try:
            self._process = subprocess.Popen(
                [sys.executable, *PYTHON_OPTIONS, "-m", "jetnb.executor.zygote", "--control-fd", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stderr=stderr, env=env,
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

    def _end(self, now: bool = False) -> None:
        """Close our end (the zygote's cue to kill its kernels and exit) and reap it, killing it if it lingers."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._process is not None:
            if now:
                self._process.kill()
            try:
                self._process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(STOP_TIMEOUT)
            self._process = None
        self._ready = False
