"""The executor boundary: how a run request becomes an executed notebook.

Callers build a ``RunRequest`` and call ``get_backend(name).execute(request)``;
they never import papermill themselves. A backend owns kernels and the run
log; it reports progress through ``request.observer``. Adding a pre-started
kernel pool or a Dask backend means adding a module here and a line in
``BACKENDS``.
"""

from __future__ import annotations

import importlib
import threading
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass
class RunRequest:
    run_id: str
    notebook: str
    log_path: str
    params: dict[str, Any]
    kernel_name: str
    cwd: str | None
    run_context: dict[str, Any]
    observer: Any
    timeout: float | None = None
    notebook_node: Any = None  # a prepared notebook (a resumed run) instead of reading ``notebook``


@dataclass
class RunOutcome:
    status: str  # succeeded | failed | interrupted | waiting
    error: dict[str, Any] | None = None
    result: Any = None


class Backend(Protocol):
    name: str

    def execute(self, request: RunRequest) -> RunOutcome:
        """Run the notebook to the end (or first failure), leaving a complete run log at ``request.log_path``."""
        ...


BACKENDS = {"local": "jetnb.executor.local:LocalBackend", "pool": "jetnb.executor.pool:PooledBackend"}
_instances: dict[str, Backend] = {}
_lock = threading.Lock()


def get_backend(name: str = "local") -> Backend:
    """One instance per name and process: a backend may own long-lived resources (a kernel pool)."""
    with _lock:
        if name not in _instances:
            try:
                target = BACKENDS[name]
            except KeyError:
                raise ValueError(f"unknown executor backend {name!r} (known: {', '.join(BACKENDS)})") from None
            module, _, attr = target.partition(":")
            _instances[name] = getattr(importlib.import_module(module), attr)()
        return _instances[name]


def close_backends() -> None:
    """Release what backends hold (pre-started kernels); called when a server stops."""
    with _lock:
        for backend in _instances.values():
            close = getattr(backend, "close", None)
            if close is not None:
                close()
        _instances.clear()
