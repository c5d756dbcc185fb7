"""The executor boundary: how a run request becomes an executed notebook.

Callers build a ``RunRequest`` and call ``get_backend(name).execute(request)``;
they never import papermill themselves. A backend owns kernels and the run
log; it reports progress through ``request.observer``. Backends are
registered as papermill's engines are, by entry points in the
``jetnb.executors`` group (the built-in ``local`` and ``pool`` too), so a new
backend is one module and one entry point.
"""

from __future__ import annotations

import threading
from importlib.metadata import entry_points
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


GROUP = "jetnb.executors"
_instances: dict[str, Backend] = {}
_lock = threading.Lock()


class UnknownBackend(LookupError):
    pass


def backend_names() -> list[str]:
    """Every registered backend, for ``--backend`` choices; reading entry points loads no backend module."""
    return sorted({point.name for point in entry_points(group=GROUP)})


def get_backend(name: str = "local") -> Backend:
    """One instance per name and process: a backend may own long-lived resources (a kernel pool)."""
    with _lock:
        if name not in _instances:
            points = {point.name: point for point in entry_points(group=GROUP)}
            if name not in points:
                known = ", ".join(sorted(points)) or "none: is jetnb installed (pip install -e .)?"
                raise UnknownBackend(f"unknown executor backend {name!r} (known: {known})")
            _instances[name] = points[name].load()()
        return _instances[name]


def close_backends() -> None:
    """Release what backends hold (pre-started kernels); called when a server stops."""
    with _lock:
        for backend in _instances.values():
            close = getattr(backend, "close", None)
            if close is not None:
                close()
        _instances.clear()
