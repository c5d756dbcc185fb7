"""Time limits for steps, items and the whole run, without killing the kernel.

In the main thread a limit is a SIGALRM timer whose handler raises in the
running code (it interrupts ``time.sleep`` and Python loops). In other
threads (parallel iterator items) a timer thread raises the error in the
item's thread asynchronously: it lands at the item's next Python
instruction, so a blocking C call finishes first. Limits nest; the earliest
deadline wins. Timers are armed only while a cell runs, never while the
kernel is idle.
"""

from __future__ import annotations

import ctypes
import signal
import threading
import time
from contextlib import contextmanager
from typing import Iterator


class StepTimeout(TimeoutError):
    """A step attempt or an iterator item ran longer than its ``--timeout``."""


class RunTimeout(BaseException):
    """The workflow's ``timeout`` has passed. A BaseException, so ``except Exception`` in user code cannot swallow it."""


Limit = tuple[float, type[BaseException], str]  # (monotonic deadline, error type, message)
_limits: list[Limit] = []  # main thread only
_run_limit: list[Limit] = []
_in_cell = False


def _earliest() -> Limit | None:
    candidates = _limits + _run_limit
    return min(candidates, key=lambda c: c[0]) if candidates else None


def _on_alarm(signum: int, frame: object) -> None:
    __tracebackhide__ = True
    due = _earliest()
    if due is None:
        return
    if due[0] <= time.monotonic() + 0.001:
        raise due[1](due[2])
    _arm()


def _arm() -> None:
    due = _earliest() if _in_cell else None
    if due is None:
        signal.setitimer(signal.ITIMER_REAL, 0)
        return
    signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(due[0] - time.monotonic(), 0.001))


def cell_started() -> None:
    """IPython pre_run_cell hook: the run deadline applies while any cell runs."""
    global _in_cell
    _in_cell = True
    _arm()


def cell_finished() -> None:
    """IPython post_run_cell hook: never leave a timer armed on an idle kernel."""
    global _in_cell
    _in_cell = False
    _limits.clear()
    signal.setitimer(signal.ITIMER_REAL, 0)


def set_run_deadline(seconds_left: float | None, message: str) -> None:
    _run_limit.clear()
    if seconds_left is not None:
        _run_limit.append((time.monotonic() + max(seconds_left, 0.0), RunTimeout, message))
    if _in_cell:
        _arm()


@contextmanager
def time_limit(seconds: float | None, kind: type[BaseException], message: str) -> Iterator[None]:
    """Raise ``kind(message)`` in this thread if the block runs longer than ``seconds`` (None: no limit)."""
    if seconds is None:
        yield
        return
    if threading.current_thread() is threading.main_thread():
        entry = (time.monotonic() + seconds, kind, message)
        _limits.append(entry)
        _arm()
        try:
            yield
        finally:
            if entry in _limits:
                _limits.remove(entry)
            _arm()
        return
    target = threading.get_ident()
    timer = threading.Timer(seconds, _raise_in_thread, (target, kind, message))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


_pending_messages: dict[int, str] = {}


def _raise_in_thread(ident: int, kind: type[BaseException], message: str) -> None:
    _pending_messages[ident] = message
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(ident), ctypes.py_object(kind))


def async_timeout_message(exc: BaseException) -> str | None:
    """Async exceptions arrive without arguments; this recovers the message meant for this thread."""
    return _pending_messages.pop(threading.get_ident(), None) if not exc.args else None
