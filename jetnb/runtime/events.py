"""How the kernel side reports: each ``jetnb.protocol`` event is displayed under its MIME type with a status line.

A person in JupyterLab sees the line; the runner's engine reads the JSON.
Outside IPython (an action called from a plain script) there is no one to
report to, and nothing is displayed. A process that calls actions itself
(the run service sending a run's notifications) hands its own ``collect``
sink in: events then go there, never to a display, even when that process
is a kernel (a widget's run service).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from ..protocol import Event, bundle

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

    if get_ipython() is None:
        return None
    return display(bundle(event, text), raw=True, display_id=True if keep else None)


@contextmanager
def collect(sink: Sink) -> Iterator[None]:
    """Within the block (in this thread), events go to ``sink`` instead of a display."""
    token = _sink.set(sink)
    try:
        yield
    finally:
        _sink.reset(token)
