"""How a run's kernel handles ipykernel's I/O thread: no waiting for it to flush, no traceback when a late flush
loses the race with the kernel's shutdown. The run's bootstrap installs all of it (``install``).

**Flushes.** ipykernel flushes stdout and stderr after every execution,
before every display and after every control message; each flush hands
two callbacks to the I/O thread and waits for it (~0.5 to 1.5 ms), even
when nothing was written since the last one. A stream whose pending mark is
down has handed everything written to the I/O thread already, whose queue
keeps the order of messages on IOPub: its flush returns at once. Before a
display, a stream with something pending sends it from the displaying
thread instead, ahead of the display in that same queue: the order of
outputs is the one ipykernel gives, without the wait. ipykernel's own
``_flush`` is made one-at-a-time per stream, so the I/O thread's delayed
flush and the displaying thread's cannot queue their chunks out of order.
Only the order relative to the shell channel's reply could change, and a
runner waits for IOPub's idle status, which comes after every output. A
stream without these marks (another ipykernel) is flushed as before.

**A late flush at shutdown.** After answering a shutdown request,
ipykernel's control thread flushes stdout and publishes "idle" while its
main thread stops the I/O thread and closes the pipes other threads wake it
with. The control thread checked the I/O thread alive just before: it sends
on a closed pipe, pyzmq raises "Socket operation on non-socket", and
tornado logs the traceback on the kernel's stderr, which is ``jetnb
serve``'s (or JupyterLab's) log. ipykernel 7.4 tolerates the race when it
sends a message, not when it schedules one. Worse, a wake-up sent after
the I/O thread stopped but before the pipes are closed blocks forever,
and the main thread waits forever to join the control thread: a kernel
that never exits (killed after the manager's grace period, its open files
unflushed). Once its I/O thread is gone, ipykernel itself runs what is
scheduled at once, in the caller's thread; this does the same when the race
is lost either way.
"""
from __future__ import annotations

import os
import sys
import threading
import time
from typing import Any, Callable

STOPPING_WAIT = 10.0  # seconds a wake-up may wait for a busy I/O thread that is still alive


def install(shell: Any) -> None:
    """All of it, on this kernel's streams, I/O thread and display publisher; a second call changes nothing."""
    tolerate_closing_iopub(getattr(sys.stdout, "pub_thread", None))
    streams = [stream for stream in (sys.stdout, sys.stderr) if flush_only_pending(stream)]
    publisher = getattr(shell, "display_pub", None)
    if streams and callable(getattr(publisher, "_flush_streams", None)) and not in_order(publisher):
        publisher._flush_streams = lambda: send_pending(streams)
        publisher._jetnb_in_order = True


def in_order(publisher: Any) -> bool:
    """True once ``install`` made this display publisher send pending output itself, in order, before a display."""
    return bool(getattr(publisher, "_jetnb_in_order", False))


def tolerate_closing_iopub(pub_thread: Any) -> None:
    """Make ``pub_thread.schedule`` (an ``ipykernel.iostream.IOPubThread``) run its callback at once when the I/O
    thread stopped under it, instead of raising or waiting forever; this instance only.

    ipykernel's schedule queues the callback and wakes the I/O thread
    through a PUSH socket. Stopped in between, the thread has closed its end:
    the send then blocks for good (no peer) while the main thread waits to
    join this one, a kernel that never exits; or, once the main thread has
    closed the pipes too, it fails with "Socket operation on non-socket".
    Here the wake-up is sent without blocking; while the I/O thread is still
    there, a send that cannot go yet is tried again; once it is gone (or
    the pipe closed, which happens only after it was joined), the callback
    runs here, unless the thread ran it on its way out. A wake-up that got
    through just as the thread ended (ZMQ notices a closed peer a moment
    late) is not lost either: what is still queued once ``stop`` has joined
    the thread runs in the stopping thread.
    """
    if not callable(getattr(pub_thread, "schedule", None)) or getattr(pub_thread, "_jetnb_tolerant", False):
        return
    import zmq

    def tolerant(callback: Callable[[], Any]) -> None:
        if not pub_thread.thread.is_alive():
            callback()
            return
        pub_thread._events.append(callback)
        deadline = time.monotonic() + STOPPING_WAIT
        while True:  # bounded: the I/O thread ends, or the wait does
            try:
                pub_thread._event_pipe.send(b"", zmq.NOBLOCK)
                if pub_thread.thread.is_alive():
                    return  # the I/O thread runs it, or ``stop`` below does once the thread is joined
                break  # queued towards a thread already gone (ZMQ had not yet noticed its end closed)
            except zmq.Again:  # nobody to take the wake-up: the I/O thread is stopping, or very busy
                if not pub_thread.thread.is_alive() or time.monotonic() > deadline:
                    break
                time.sleep(0.001)
            except zmq.ZMQError as exc:
                if exc.errno != zmq.ENOTSOCK:
                    raise
                break  # closed: the I/O thread was joined already
        try:
            pub_thread._events.remove(callback)
        except ValueError:
            return  # the I/O thread ran it before it ended
        callback()  # what it would have run, run here (it sends nothing once the socket is closed)

    stop = pub_thread.stop

    def stop_then_run_leftovers() -> None:
        stop()
        while pub_thread._events:  # woken too late for the I/O thread's last turn: run here, each exactly once
            try:
                leftover = pub_thread._events.popleft()
            except IndexError:
                return  # a scheduling thread took the last one back to run it itself
            leftover()

    pub_thread.schedule = tolerant
    pub_thread.stop = stop_then_run_leftovers
    pub_thread._jetnb_tolerant = True


def flush_only_pending(stream: Any) -> bool:
    """Make ``stream.flush`` (an ``ipykernel.iostream.OutStream``) return at once when nothing written to it waits
    for the I/O thread, and its ``_flush`` one call at a time; this instance only. False for another kind of
    stream."""
    if getattr(stream, "_jetnb_lazy", False):
        return True
    if not (hasattr(stream, "_flush_pending") and callable(getattr(stream, "_flush", None))):
        return False
    flush, send = stream.flush, stream._flush
    one_at_a_time = [threading.RLock()]  # re-entrant: a forked child's write inside a hook flushes in its own thread
    os.register_at_fork(after_in_child=lambda: one_at_a_time.__setitem__(0, threading.RLock()))  # never held there

    def lazy() -> None:
        if _pending(stream):
            flush()

    def serialised() -> None:
        with one_at_a_time[0]:
            send()

    stream.flush, stream._flush = lazy, serialised
    stream._jetnb_lazy = True
    return True


def send_pending(streams: list[Any]) -> None:
    """Send what each stream holds from this thread, queued ahead of whatever this thread publishes next."""
    for stream in streams:
        if _pending(stream):
            stream._flush()


def _pending(stream: Any) -> bool:
    return bool(stream._flush_pending or getattr(stream, "_subprocess_flush_pending", True))
