"""A head start for ``jetnb run``: its kernel and papermill's imports get going while the CLI parses and validates.

A one-off run would pay for jupyter_client's and papermill's imports and a
kernel start (together well over a second) one after the other, after
parsing, validating and recording. ``prepare`` starts a kernel zygote
(``zygote_process.py``: a process that imports what every kernel imports,
on the other core, before it knows which run it is for) and a thread,
which imports jupyter_client while the CLI parses and validates; ``begin``
gives it the kernel's name, folder and environment from a quick look at
the notebook, and the thread has the zygote fork the kernel (or, for a
kernel that is not the zygote's Python with ipykernel, or where forking is
unavailable, starts an ordinary one), while the CLI validates, opens the
store, records the run and imports papermill (``LocalBackend.execute``, before
it takes the kernel). The local backend
``take``s the kernel only if it is exactly the run's (same kernel name and
environment: otherwise it is shut down unused, e.g. when a secret became
known between the guess and the run), and shuts it down after the run as
nbclient would have; the zygote ends with it.
"""

from __future__ import annotations

import atexit
import threading
from typing import TYPE_CHECKING, Any

from .fastimport import one_importer
from .kernel_stderr import StderrGate, filtered_stderr
from .zygote_process import ForkUnavailable, ZygoteProcess, kernel_args, platform_problem

if TYPE_CHECKING:
    from . import RunRequest


class HeadStart:
    """One kernel started ahead of one run."""

    def __init__(self) -> None:
        self.kernel_name: str | None = None
        self.env: dict[str, str] | None = None
        self.cwd: str | None = None
        self.km: Any = None
        self._asked = threading.Event()
        self.gate = StderrGate()  # the kernel's stderr reaches the terminal only if a run takes the kernel
        # The zygote imports only what every kernel imports: a one-off run's own imports would cost the same there.
        self.zygote = ZygoteProcess(imports=[], stderr_gate=self.gate) if platform_problem() is None else None
        self._abandoned = False
        self._thread = threading.Thread(target=self._run, name="jetnb-head-start", daemon=True)
        self._thread.start()

    def begin(self, kernel_name: str, cwd: str, env: dict[str, str]) -> None:
        self.kernel_name, self.cwd, self.env = kernel_name, cwd, env
        self._asked.set()

    def abandon(self) -> None:
        """No run after all: the thread stops after its imports, or its kernel is killed."""
        begun = self._asked.is_set()
        self._abandoned = True
        self.gate.close()
        self._asked.set()
        if begun:  # else the thread stops at once (or dies with the process, a daemon, mid-import)
            self._thread.join(timeout=60)  # the kernel's start (not its readiness), then the thread returns
        if self.km is not None:
            kill(self.km)  # it never ran anything; at exit there may be no event loop for a shutdown request
            self.km = None
        self.close_zygote()

    def close_zygote(self) -> None:
        if self.zygote is not None:
            self.zygote.close(now=True)
            self.zygote = None

    def _run(self) -> None:
        with one_importer():  # the CLI's validation imports some of the same packages meanwhile
            from .run_kernel import import_what_starts_need
            if self.zygote is not None:
                from . import forked_kernel  # noqa: F401  imported now for the same reason

            import_what_starts_need()  # before the kernel's name is known: its start then imports nothing

        self._asked.wait()
        if self._abandoned:
            return
        stderr = filtered_stderr(self.gate)
        try:
            km = self._manager()
            km.start_kernel(stderr=stderr, env=self.env, cwd=self.cwd)
            self.km = km
        except Exception:  # the run starts its own kernel, whose failure is then recorded with the run
            pass
        finally:
            stderr.close()

    def _manager(self) -> Any:
        """A manager whose kernel the zygote forks, if it can be the zygote's; else an ordinary one (and the zygote
        is not needed)."""
        from .run_kernel import new_manager

        if self.zygote is not None:
            from .forked_kernel import ForkedKernelManager

            km = ForkedKernelManager(self.zygote, kernel_name=self.kernel_name)
            try:
                kernel_args(km.kernel_spec.argv)
                return km
            except ForkUnavailable:
                self.close_zygote()
        return new_manager(self.kernel_name)

    def take(self, request: RunRequest) -> Any | None:
        """The kernel, if it is the run's; else None (it is shut down)."""
        if not self._asked.is_set():
            return None
        self._thread.join()
        km, self.km = self.km, None
        if km is None:
            self.gate.close()
            self.close_zygote()
            return None
        if self.kernel_name != request.kernel_name or self.env != request.env or not km.is_alive():
            self.gate.close()
            kill(km)
            self.close_zygote()
            return None
        self.gate.open()
        if self.zygote is not None and not hasattr(km, "zygote"):
            self.close_zygote()
        return km


_current: list[HeadStart] = []


def prepare() -> HeadStart:
    """Start the head start's thread now; the local backend takes its kernel for the next run."""
    release()  # one an earlier command in this process left (the CLI run in-process: a test, a script)
    head = HeadStart()
    _current[:] = [head]
    return head


def take(request: RunRequest) -> Any | None:
    """The kernel started ahead for this run, or None (none was, or it is not the run's)."""
    if not _current:
        return None
    return _current.pop().take(request)


def end(km: Any) -> None:
    """Shut the kernel down gracefully after its run, as nbclient does (the notebook's open files are flushed at its
    exit); a kernel that does not go is killed."""
    try:  # shutdown_kernel's steps, looking for the exit every 10 ms instead of every 100
        km.request_shutdown()
        km.finish_shutdown(pollinterval=0.01)
        km.cleanup_resources()
    except Exception:
        kill(km)
    zygote = getattr(km, "zygote", None)  # the head start's own, if it forked this kernel: nothing else to fork
    if zygote is not None:
        zygote.close(now=True)


def kill(km: Any) -> None:
    """Kill a kernel that never ran anything, synchronously (safe at interpreter exit), and remove its files.

    Its process gets SIGKILL at once, so it cannot write half an initialisation
    traceback to the terminal or outlive the command."""
    process = getattr(getattr(km, "provisioner", None), "process", None)
    try:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    except Exception:  # already gone
        pass
    try:
        km.cleanup_resources()
    except Exception:  # its files are gone already
        pass


@atexit.register
def release() -> None:
    """Abandon the head start no run took (a problem found after it began, an interrupted CLI): its kernel is
    killed. The command calls it as it ends, whether or not the process ends with it."""
    while _current:
        _current.pop().abandon()
