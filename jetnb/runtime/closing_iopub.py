"""A run kernel's late flush while ipykernel closes its I/O thread at shutdown: done at once, not a traceback.

At shutdown ipykernel's main thread stops its I/O thread and closes the
pipes other threads wake it with, while its control thread, having answered
the shutdown request, flushes stdout and publishes "idle" through them. The
control thread checked the I/O thread alive just before: it sends on a
closed pipe, pyzmq raises "Socket operation on non-socket", and tornado
logs the traceback on the kernel's stderr, which is ``jetnb serve``'s (or
JupyterLab's) log. ipykernel 7.4 tolerates this race when it sends a
message, not when it schedules one. Once its I/O thread is gone, ipykernel
itself runs what is scheduled at once, in the caller's thread; this does the
same when the race is lost.
"""

from __future__ import annotations

from typing import Any, Callable


def tolerate_closing_iopub(pub_thread: Any) -> None:
    """Make ``pub_thread.schedule`` (an ``ipykernel.iostream.IOPubThread``) run its callback at once when the I/O
    thread's wake-up pipe was closed under it; once per kernel, this instance only."""
    schedule = getattr(pub_thread, "schedule", None)
    if schedule is None or getattr(pub_thread, "_jetnb_tolerant", False):
        return
    import zmq

    def tolerant(callback: Callable[[], Any]) -> None:
        try:
            schedule(callback)
        except zmq.ZMQError as exc:
            if exc.errno != zmq.ENOTSOCK:
                raise
            callback()  # the I/O thread is stopped: what it would have run, run here (it sends nothing once closed)

    pub_thread.schedule = tolerant
    pub_thread._jetnb_tolerant = True
