"""Awaiting, on the event loop, futures that another thread resolves in bursts (the group committer's batches).

``asyncio.wrap_future`` wakes the loop once per future: each resolution
writes to the loop's self-pipe from the resolving thread, and each wake-up
is a round of the loop and a hand-over of the interpreter between the two
threads. A batch of a hundred deliveries committed at once would wake the
loop a hundred times. Here the first future of a burst schedules one
callback on the loop and the rest join it, so a batch costs one wake-up.
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from concurrent.futures import Future
from typing import Any, TypeVar

T = TypeVar("T")


class Handoff:
    """The futures of one event loop that have resolved and wait to be handed to their awaiting coroutines."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._lock = threading.Lock()
        self._ready: list[tuple[Future[Any], asyncio.Future[Any]]] = []

    def wait(self, future: Future[T]) -> asyncio.Future[T]:
        waiter: asyncio.Future[T] = self._loop.create_future()
        future.add_done_callback(lambda done: self._arrived(done, waiter))
        return waiter

    def _arrived(self, done: Future[Any], waiter: asyncio.Future[Any]) -> None:
        """In the resolving thread: only the first of a burst wakes the loop."""
        with self._lock:
            first = not self._ready
            self._ready.append((done, waiter))
        if first:
            self._loop.call_soon_threadsafe(self._deliver)

    def _deliver(self) -> None:
        with self._lock:
            ready, self._ready = self._ready, []
        for done, waiter in ready:
            if waiter.cancelled():
                continue
            if done.cancelled():
                waiter.cancel()
            elif (error := done.exception()) is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(done.result())


_handoffs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Handoff] = weakref.WeakKeyDictionary()


def committed(future: Future[T]) -> asyncio.Future[T]:
    """``asyncio.wrap_future`` for futures resolved in bursts by another thread; call it on the loop's thread."""
    loop = asyncio.get_running_loop()
    handoff = _handoffs.get(loop)
    if handoff is None:
        handoff = _handoffs[loop] = Handoff(loop)
    return handoff.wait(future)
