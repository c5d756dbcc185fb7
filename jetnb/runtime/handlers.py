"""Success and error handlers: a ``%%handler`` body run in the notebook with ``error`` bound, or a notebook to run.

A handler never changes the outcome it reacts to: if it fails, the failure
is recorded next to the step (or run) and the original error still stands.
Notebook handlers (``alert.ipynb``) are requested from the runner, which
runs them as runs of their own once this run has ended.
"""

from __future__ import annotations

import time
from typing import Any

from ..protocol import HandlerRequest
from . import context
from .events import emit
from .execution import compile_body, describe_error
from .outcomes import ErrorInfo

_MISSING = object()


def run_handler(shell: Any, ref: str, on: str, *, step: str | None, error: ErrorInfo | None) -> dict[str, Any]:
    """Run one handler; returns its record ``{handler, on, status, duration, error}``."""
    record: dict[str, Any] = {"handler": ref, "on": on, "status": "succeeded"}
    ctx = context.current()
    if ref.endswith(".ipynb"):
        emit(HandlerRequest(ref, on, step, error.to_dict() if error else None),
             f"→ handler {ref} ({on}) requested: the runner starts it after this run")
        record["status"] = "requested"
        return record
    body = ctx.handlers.get(ref)
    if body is None:
        record.update(status="failed", error={"type": "HandlerError",
                                              "message": f"no %%handler named {ref!r} (run its cell first?)"})
        print(f"✗ handler {ref} ({on}) failed: {record['error']['message']}")
        return record
    started = time.perf_counter()
    previous = shell.user_ns.get("error", _MISSING)
    shell.user_ns["error"] = error
    try:
        compile_body(shell, body).run(shell.user_ns)
    except BaseException as exc:  # a failing handler is recorded, never raised over the original outcome
        described = describe_error(exc)
        record.update(status="failed", error=described)
        print(f"✗ handler {ref} ({on}) failed: {described['type']}: {described['message']}\n{described['traceback']}")
    else:
        print(f"✓ handler {ref} ({on}) succeeded")
    finally:
        if previous is _MISSING:
            shell.user_ns.pop("error", None)
        else:
            shell.user_ns["error"] = previous
    record["duration"] = round(time.perf_counter() - started, 6)
    return record
