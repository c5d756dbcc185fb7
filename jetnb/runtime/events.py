"""How the kernel side reports: each ``jetnb.protocol`` event is displayed under its MIME type with a status line.

A person in JupyterLab sees the line; the runner's engine reads the JSON.
Outside IPython (an action called from a plain script) there is no one to
report to, and nothing is displayed. A process that calls actions itself
(the run service sending a run's notifications) hands its own ``collect``
sink in: events then go there, never to a display, even when that process
is a kernel (a widget's run service).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from ..protocol import Event, bundle
from .headless_io import in_order

Sink = Callable[[Event], None]
_sink: ContextVar[Sink | None] = ContextVar("jetnb_event_sink", default=None)


def emit(event: Event, text: str | None = None, *, keep: bool = False) -> Any:
    """Display ``event``; with ``keep`` returns a handle whose ``update`` replaces it in place (a step's line)."""
    sink = _sink.get()
    if sink is not None:
        sink(event)
        return None
    from IPython import get_ipython
    from IPython.display import display

    shell = get_ipython()
    if shell is None:
        return None
    with flushing_only_pending(shell):
        return display(bundle(event, text), raw=True, display_id=True if keep else None)


@contextmanager
def flushing_only_pending(shell: Any) -> Iterator[None]:
    """Within the block, ipykernel's display publisher flushes stdout and stderr only if they hold output.

    ipykernel flushes both streams before every display, so that a display
    shows after what was printed before it; each flush is a round trip to
    its I/O thread (~0.5 ms), and a step shows and updates its status line
    at least twice, most often with nothing printed in between: 4 of the 8
    round trips a ``%%step`` cell cost. A stream whose pending-flush mark
    is unknown (another kernel, another ipykernel) is flushed as before.
    """
    publisher = getattr(shell, "display_pub", None)
    if publisher is None or not callable(getattr(publisher, "_flush_streams", None)) or in_order(publisher):
        yield  # a run's kernel sends pending output before every display already (``headless_io``)
        return

    def flush_pending() -> None:
        for stream in (sys.stdout, sys.stderr):
            if getattr(stream, "_flush_pending", True):
                stream.flush()

    with _overriding:  # iterator items report from several threads
        publisher._flush_streams = flush_pending  # this instance only, for this block
        try:
            yield
        finally:
            del publisher._flush_streams


_overriding = threading.Lock()


@contextmanager
def collect(sink: Sink) -> Iterator[None]:
    """Within the block (in this thread), events go to ``sink`` instead of a display."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)
