"""The executor boundary: how a run request becomes an executed notebook.

The run service builds a ``RunRequest`` (plain data, so it can travel to
another process or a Dask worker) and calls
``get_backend(name).execute(request, observer, cancel)``; it never imports
papermill itself. A backend owns kernels and the run log, forwards the
kernel's typed events to ``observer`` as they happen, stops when ``cancel``
is set, and returns a ``RunOutcome``. Backends are registered as papermill's
engines are, by entry points in the ``jetnb.executors`` group (the built-in
``local`` and ``pool`` too), so a new backend is one module and one entry
point.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..plugins import EntryPoints, UnknownPlugin
from ..protocol import Event, RunContext, RunOutcome, RunSecrets
from .cancel import CancelSignal


@dataclass
class RunRequest:
    run_id: str
    notebook: dict[str, Any]  # the notebook's content (a resumed run's carries its completed steps' outputs)
    notebook_path: str  # where it came from, for messages and relative paths
    log_path: str
    params: dict[str, Any]  # what papermill injects: every parameter but the Secret ones (see secrets)
    kernel_name: str
    cwd: str
    context: RunContext
    timeout: float | None = None  # seconds each cell may run (papermill's --execution-timeout)
    start_timeout: float | None = None  # seconds the kernel may take to start; None: papermill's 60
    log_output: bool = False  # the notebook's outputs also go to papermill's logger, as it is set up by the caller
    env: dict[str, str] | None = field(default=None, repr=False)  # the kernel's environment; None: inherit
    secrets: RunSecrets = field(default_factory=RunSecrets, repr=False)  # sent to the kernel, never to papermill
    worker_lost_retries: int = 0  # a backend on a cluster: times the run starts again when its worker dies


class Observer(Protocol):
    def event(self, event: Event) -> None:
        """A kernel event, as it happens (a step started or ended, an output, an approval request...)."""
        ...


class NullObserver:
    """What a plain ``papermill --engine jetnb`` run reports to: nothing beyond the notebook itself."""

    def event(self, event: Event) -> None:
        pass


class Backend(Protocol):
    name: str

    def execute(self, request: RunRequest, observer: Observer, cancel: CancelSignal) -> RunOutcome:
        """Run the notebook to the end, first failure, approval gate or cancel, leaving a complete run log."""
        ...


class UnknownBackend(UnknownPlugin):
    pass


class BackendUnavailable(RuntimeError):
    """A backend that cannot run anything now (its cluster is unreachable); the message says which and why."""


_registry = EntryPoints("jetnb.executors", "executor backend", UnknownBackend)
_instances: dict[str, Backend] = {}
_lock = threading.Lock()


def backend_names() -> list[str]:
    """Every registered backend, for ``--backend`` choices; reading entry points loads no backend module."""
    return _registry.names()


def get_backend(name: str = "local") -> Backend:
    """One instance per name and process: a backend may own long-lived resources (a kernel pool)."""
    with _lock:
        if name not in _instances:
            backend = _registry.load(name)()
            backend.name = name
            _instances[name] = backend
        return _instances[name]


def open_backend(name: str) -> None:
    """Connect a backend that has an ``open()`` (a cluster's client) now: BackendUnavailable when it cannot.

    Others are not even made here: a backend made early starts early (the
    ``forked`` zygote), before the run's secrets are known to withhold."""
    if hasattr(_registry.load(name), "open"):
        get_backend(name).open()


def close_backends() -> None:
    """Release what backends hold (pre-started kernels); called when a server stops."""
    with _lock:
        for backend in _instances.values():
            close = getattr(backend, "close", None)
            if close is not None:
                close()
        _instances.clear()
