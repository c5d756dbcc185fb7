"""The zygote: a long-lived process that has imported what a kernel needs, and forks a fresh kernel per run.

Starting a kernel costs about a second, nearly all of it Python importing
ipykernel, IPython and jetnb's kernel runtime. The zygote pays that once;
a run's kernel is a ``fork()`` of it that becomes a real ``IPKernelApp`` on
the run's own connection file, in the run's folder and environment, in a
session of its own. Every kernel is a new process; nothing passes from one
run to the next.

fork copies only the calling thread, so the zygote never holds what the
child could not use: no thread (a lock held by another thread would stay
locked forever in the child), no ZMQ context, no asyncio loop. It checks
this before every fork and refuses to fork otherwise.

Protocol (``jetnb.executor.forked`` is the only client): a SOCK_SEQPACKET
Unix socket passed as ``--control-fd``, one JSON object per message. The
zygote first sends ``{"ready": ...}`` or ``{"error": ...}``, then answers
each ``{"id", "argv", "cwd", "env"}`` with ``{"id", "pid"}`` and a pidfd of
the kernel attached (SCM_RIGHTS), ``{"id", "refused"}`` (the zygote cannot
fork: the manager starts an ordinary kernel) or ``{"id", "error"}`` (the
kernel could not start, e.g. its folder is missing). End of file on
the socket (the server stopped or died) kills the kernels still running
and ends the zygote.

    python -m jetnb.executor.zygote --control-fd N
"""

from __future__ import annotations

import argparse
import atexit
import gc
import importlib
import importlib.util
import io
import json
import locale
import os
import random
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

# What every kernel imports on its way to its first cell (ipykernel's app, shell and debugger, IPython,
# jetnb's kernel side), measured in a forked kernel after a run of hello.ipynb: see docs/decisions.md.
KERNEL_MODULES = (
    "ipykernel.kernelapp", "ipykernel.ipkernel", "ipykernel.zmqshell", "ipykernel.debugger",
    "IPython.core.interactiveshell", "IPython.core.completerlib", "IPython.core.debugger", "IPython.core.oinspect",
    "IPython.core.logger", "IPython.core.magics.extension", "IPython.extensions.storemagic", "cProfile", "pstats",
    "faulthandler", "difflib", "secrets", "tornado.platform.asyncio", "psutil", "jupyter_client.session", "comm",
    "cloudpickle", "jetnb", "jetnb.runtime", "jetnb.runtime.bootstrap", "jetnb.runtime.magics",
    "jetnb.runtime.gate", "jetnb.protocol", "jetnb.executor.kernel_app",
)
# A notebook's usual imports, pre-imported when installed: each costs the zygote under 0.4 s and 11 MiB once
# (pandas, 1.3 s and 43 MiB, is one JETNB_ZYGOTE_IMPORTS away). Their children share those pages.
USUAL_IMPORTS = ("numpy", "requests", "yaml", "sqlite3")
IMPORTS_ENV = "JETNB_ZYGOTE_IMPORTS"
MAX_MESSAGE = 1 << 20
CHILD_SETUP_TIMEOUT = 10.0  # seconds for a new kernel to take its session and folder
STOP_TIMEOUT = 5.0  # seconds for killed kernels to be reaped when the zygote ends
SETTLING = 2.0  # seconds ``settle`` waits for native threads stopped by a fork handler to be gone


def wanted_imports(environ: dict[str, str]) -> tuple[list[str], bool]:
    """The usual imports to load, and whether a person chose them (then a missing one is worth a warning)."""
    chosen = environ.get(IMPORTS_ENV)
    if chosen is None:
        return [name for name in USUAL_IMPORTS if importlib.util.find_spec(name) is not None], False
    return [name.strip() for name in chosen.split(",") if name.strip()], True


def import_all(names: list[str]) -> tuple[dict[str, str], list[str]]:
    """Import each module: the ones that failed (with why), and the ones that started a thread at import."""
    failed, threaded = {}, []
    for name in names:
        before = _thread_count()
        try:
            importlib.import_module(name)
        except Exception as exc:  # a broken optional import must not stop the zygote
            failed[name] = f"{type(exc).__name__}: {exc}"
        if _thread_count() > before:
            threaded.append(name)
    return failed, threaded


def warm_caches() -> None:
    """Work each kernel would repeat once per process, done once here and inherited: the trigger kinds (an entry-point
    scan of every installed package's metadata, ~70 ms, the first time a ``%%workflow`` cell names a trigger) and
    tokenize's pattern (~13 ms, compiled at the first cell IPython tokenizes). A failure only costs that time."""
    import io
    import tokenize

    try:
        list(tokenize.generate_tokens(io.StringIO("pass\n").readline))
        from ..triggers.registry import kinds

        kinds()
    except Exception:  # noqa: S110  a broken plug-in is reported where it is used, by the kernel
        pass


def settle() -> None:
    """Fork once and let the child exit: libraries with a fork handler (OpenBLAS) stop their thread pools.

    numpy's OpenBLAS starts worker threads at import and shuts them down in
    a ``pthread_atfork`` handler; they come back only at the next BLAS call,
    which the zygote never makes. A joined thread can still be listed for a
    moment (the kernel removes it after waking its joiner; a busy machine
    stretches that moment): the threads ending are waited for, a bounded
    while. After this, the zygote has one thread.
    """
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    deadline = time.monotonic() + SETTLING
    while _thread_count() > threading.active_count() and time.monotonic() < deadline:  # a native thread still there
        time.sleep(0.002)


def fork_hazards() -> list[str]:
    """What would make a fork unsafe right now: other threads, a ZMQ context, an asyncio loop.

    The ZMQ and asyncio checks read private attributes (``zmq.Context._instance``,
    the default policy's loop) defensively: if they move, the check finds nothing.
    """
    hazards = []
    if _thread_count() > 1 or threading.active_count() > 1:
        hazards.append(f"{_thread_count()} threads")
    zmq = sys.modules.get("zmq")
    if zmq is not None and getattr(zmq.Context, "_instance", None) is not None:
        hazards.append("a ZMQ context")
    events = getattr(sys.modules.get("asyncio"), "events", None)
    policy = getattr(events, "_event_loop_policy", None)
    if getattr(getattr(policy, "_local", None), "_loop", None) is not None:
        hazards.append("an asyncio event loop")
    return hazards


def _thread_count() -> int:
    return len(os.listdir("/proc/self/task"))


@contextmanager
def _sigchld_blocked() -> Iterator[None]:
    """No reaping between fork and pidfd_open: a reaped pid could be reused before the pidfd pins it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGCHLD})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGCHLD})


class Zygote:
    """The request loop; ``serve`` returns in the zygote at end of file, and in each child with its kernel's argv."""

    def __init__(self, control: socket.socket):
        self.control = control
        self.pid = os.getpid()
        self.path0 = sys.path[0]  # the folder the zygote started in: no kernel should import from it
        self.children: set[int] = set()
        self.import_env: dict[str, str] = {}  # what the imports put into os.environ (debugpy sets PYDEVD_*)

    def send(self, message: dict[str, Any], fds: list[int] | None = None) -> None:
        data = json.dumps(message).encode()
        if fds:
            socket.send_fds(self.control, [data], fds)
        else:
            self.control.send(data)

    def serve(self) -> list[str] | None:
        signal.signal(signal.SIGCHLD, self._on_sigchld)
        try:
            while (request := self._receive()) is not None:
                argv = self._fork(request)
                if argv is not None:
                    return argv  # in the child
        finally:
            if os.getpid() == self.pid:  # the zygote, ending (end of file, or a crash): no kernel outlives it
                self._stop()
        return None

    def _receive(self) -> dict[str, Any] | None:
        try:
            data = self.control.recv(MAX_MESSAGE)
        except ConnectionResetError:
            return None
        return json.loads(data) if data else None

    def _fork(self, request: dict[str, Any]) -> list[str] | None:
        hazards = fork_hazards()
        if hazards:
            self.send({"id": request["id"], "refused": f"the zygote refuses to fork with {', '.join(hazards)}"})
            return None
        sys.stdout.flush()  # nothing buffered that every kernel would write again at its exit
        sys.stderr.flush()
        report_r, report_w = os.pipe()
        with _sigchld_blocked():
            try:
                pid = os.fork()
            except OSError as exc:
                os.close(report_r)
                os.close(report_w)
                self.send({"id": request["id"], "refused": f"fork failed: {exc}"})
                return None
            if pid == 0:
                os.close(report_r)
                return self._become_kernel(request, report_w)
            self.children.add(pid)
            os.close(report_w)
            try:
                pidfd = os.pidfd_open(pid)
            except OSError as exc:
                os.kill(pid, signal.SIGKILL)
                os.close(report_r)
                self.send({"id": request["id"], "refused": f"pidfd_open failed: {exc}"})
                return None
        failure = _read_report(report_r, CHILD_SETUP_TIMEOUT)
        if failure:
            self.send({"id": request["id"], "error": failure})
        else:
            self.send({"id": request["id"], "pid": pid}, [pidfd])
        os.close(pidfd)
        return None

    def _become_kernel(self, request: dict[str, Any], report_w: int) -> list[str]:
        """In the child: its own session and folder (reported), then the run's environment, nothing of ours open."""
        try:
            os.setsid()  # interrupt and kill reach this kernel's process group, never the zygote's
            os.chdir(request["cwd"])
        except OSError as exc:
            os.write(report_w, f"the kernel could not start in {request['cwd']!r}: {exc}".encode())
            os._exit(1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        self.control.close()
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # the report pipe too: its end of file says "ready"
        os.environ.clear()
        os.environ.update(request["env"])
        for key, value in self.import_env.items():  # as if the kernel had imported them itself
            os.environ.setdefault(key, value)
        os.environ["JPY_PARENT_PID"] = str(self.pid)  # as jupyter_client sets it for the kernels it starts
        _follow_locale()
        if sys.path and sys.path[0] == self.path0:
            del sys.path[0]  # IPython puts the kernel's own folder ('') first, as for any kernel
        _reseed()
        # ipykernel read JPY_PARENT_PID when the zygote imported it: name the parent on the command line
        return [*request["argv"], f"--IPKernelApp.parent_handle={self.pid}"]

    def _on_sigchld(self, signum: int, frame: Any) -> None:
        """Reap every exited kernel (no zombies); one that crashed is reported, the zygote goes on."""
        for _ in range(len(self.children) + 1):
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            self.children.discard(pid)
            if os.WIFEXITED(status) and os.WEXITSTATUS(status) != 0:
                os.write(2, f"jetnb zygote: kernel {pid} exited with status {os.WEXITSTATUS(status)}\n".encode())
            elif os.WIFSIGNALED(status) and os.WTERMSIG(status) not in (signal.SIGKILL, signal.SIGTERM):
                name = signal.Signals(os.WTERMSIG(status)).name
                os.write(2, f"jetnb zygote: kernel {pid} died of {name}\n".encode())

    def _stop(self) -> None:
        """The server is gone: kill every kernel still running (its whole process group) and reap it."""
        for pid in list(self.children):
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.children and time.monotonic() < deadline:
            self._on_sigchld(signal.SIGCHLD, None)
            time.sleep(0.01)


def _read_report(fd: int, timeout: float) -> str:
    """The new kernel's word on its setup: end of file with nothing said means ready, else why it failed."""
    said = b""
    deadline = time.monotonic() + timeout
    with os.fdopen(fd, "rb", buffering=0) as pipe:
        while (left := deadline - time.monotonic()) > 0 and select.select([pipe], [], [], left)[0]:
            chunk = pipe.read(4096)
            if not chunk:
                return said.decode(errors="replace")
            said += chunk
    return "the kernel did not take its session and folder in time"


def _follow_locale() -> None:
    """What Python's startup does with the locale variables, done again for the run's (PEP 538).

    The character type locale follows the run's environment; a C or POSIX
    one is coerced to UTF-8 and LC_CTYPE set, as a kernel started the
    ordinary way with this environment would have it (its subprocesses see
    the variable). The interpreter's own encodings were fixed at the
    zygote's start (UTF-8 either way).
    """
    try:
        current = locale.setlocale(locale.LC_CTYPE, "")
    except locale.Error:  # the run names a locale this system lacks: Python would stay in C too
        current = locale.setlocale(locale.LC_CTYPE, "C")
    if current not in ("C", "POSIX") or "LC_ALL" in os.environ or os.environ.get("PYTHONCOERCECLOCALE") == "0":
        return
    for target in ("C.UTF-8", "C.utf8", "UTF-8"):
        try:
            locale.setlocale(locale.LC_CTYPE, target)
        except locale.Error:
            continue
        os.environ["LC_CTYPE"] = target
        return


def _reseed() -> None:
    """Fork copies the zygote's random state: without this every kernel would draw the same numbers."""
    random.seed()
    numpy_random = sys.modules.get("numpy.random")  # numpy imports it lazily: if absent, nothing to reseed
    if numpy_random is not None:
        numpy_random.seed()


def run_kernel(argv: list[str]) -> NoReturn:
    """Become the kernel, as ``python -m ipykernel_launcher ARGV`` would; exits when the kernel shuts down."""
    from .kernel_app import ForkedKernelApp

    spec = importlib.util.find_spec("ipykernel_launcher")
    sys.argv = [spec.origin if spec and spec.origin else "ipykernel_launcher", *argv]
    app = ForkedKernelApp.instance()  # what ``launch_instance`` does, with a start that fails ending at once
    try:
        app.initialize(argv)
    except Exception as exc:  # e.g. a port taken meanwhile: ipykernel's exit handler would wait on its sockets forever
        print(f"jetnb kernel: could not start: {type(exc).__name__}: {exc}", file=sys.__stderr__, flush=True)
        os._exit(1)
    app.start()
    _exit_without_teardown()


def _exit_without_teardown() -> NoReturn:
    """Exit as Python exits, less the teardown of every module and object, which in a forked kernel writes to each
    page shared with the zygote (a third of a trivial run's kernel CPU).

    What exiting does that matters is done first, in the interpreter's
    order: wait for the run's non-daemon threads, run every exit handler
    (ipykernel closes its sockets, IPython clears the user's namespace,
    ``logging`` flushes, ``weakref.finalize`` removes temporary folders);
    then every file object still open is flushed (one of a module of the
    run's own, which teardown would have flushed) and the cycles left are
    collected, their ``__del__`` methods run. The zygote's own objects are
    frozen, out of ``gc.get_objects()``.
    """
    threading._shutdown()  # type: ignore[attr-defined]  # what Py_FinalizeEx does before the exit handlers
    atexit._run_exitfuncs()
    for found in [sys.stdout, sys.stderr, *gc.get_objects()]:
        if isinstance(found, io.IOBase):
            try:
                found.flush()
            except (OSError, ValueError):  # closed, or its file is gone: nothing to keep
                continue
    gc.collect()
    os._exit(0)


def start(control: socket.socket) -> Zygote | None:
    """Import, settle, check; the ready (or error) message is the manager's first answer."""
    started = time.monotonic()
    zygote = Zygote(control)
    names, chosen = wanted_imports(dict(os.environ))
    environ = dict(os.environ)
    kernel_failed, threaded = import_all(list(KERNEL_MODULES))
    if "ipykernel.kernelapp" in kernel_failed:  # the others only save time; without this there is no kernel
        zygote.send({"error": f"the zygote cannot import ipykernel: {kernel_failed['ipykernel.kernelapp']}"})
        return None
    failed, more_threaded = import_all(names)
    warm_caches()
    settle()
    hazards = fork_hazards()
    if hazards:
        zygote.send({"error": f"after importing {', '.join(threaded + more_threaded) or 'its modules'} the zygote "
                              f"has {', '.join(hazards)}; it cannot fork safely"})
        return None
    zygote.import_env = {key: value for key, value in os.environ.items() if environ.get(key) != value}
    gc.freeze()  # the imported objects stay out of every kernel's collections, so their pages stay shared
    zygote.send({"ready": True, "pid": zygote.pid, "python": sys.executable, "seconds": time.monotonic() - started,
                 "imported": [name for name in names if name not in failed], "failed": {**kernel_failed, **failed},
                 "chosen": chosen})
    return zygote


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m jetnb.executor.zygote", description=__doc__.split("\n")[0])
    parser.add_argument("--control-fd", type=int, required=True, help="the SOCK_SEQPACKET socket to the manager")
    options = parser.parse_args(argv)
    zygote = start(socket.socket(fileno=options.control_fd))
    kernel_argv = zygote.serve() if zygote is not None else None
    if kernel_argv is not None:
        run_kernel(kernel_argv)


if __name__ == "__main__":
    main()
