"""Forward a kernel's stderr to ours, minus ipykernel 7's per-start notice about unencrypted TCP, with every known
secret value masked.

The notice is printed on every kernel start and says nothing about the run;
everything else the kernel writes to its stderr (crashes, C library noise)
still reaches the person running jetnb, or ``jetnb serve``'s log.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import IO

from ..secrets.masking import masker

NOISE = ("Kernel is running over TCP without encryption",)


def filtered_stderr(gate: StderrGate | None = None) -> IO[bytes]:
    """A pipe to pass as the kernel's ``stderr``; a daemon thread copies it to ours (through ``gate``, if given)
    until the kernel exits."""
    read_fd, write_fd = os.pipe()
    reader = os.fdopen(read_fd, "rb")
    writer = os.fdopen(write_fd, "wb")

    def pump() -> None:
        with reader:
            for line in reader:
                if not any(noise.encode() in line for noise in NOISE):
                    text = masker.mask(line.decode(errors="replace"))
                    if gate is None:
                        _write(text)
                    else:
                        gate.write(text)

    threading.Thread(target=pump, name="jetnb-kernel-stderr", daemon=True).start()
    return writer


def _write(text: str) -> None:
    sys.stderr.buffer.write(text.encode()) if hasattr(sys.stderr, "buffer") else sys.stderr.write(text)
    sys.stderr.flush()


class StderrGate:
    """Holds what a kernel started ahead of its run writes, until the kernel is taken for the run (``open``: what
    was held, then the rest, is passed on) or not (``close``: dropped). A kernel that dies while starting (a port
    another process took first) is not used, and its traceback is nobody's business."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._held: list[str] = []
        self._open: bool | None = None  # None while holding

    def write(self, text: str) -> None:
        with self._lock:
            if self._open is None:
                self._held.append(text)
                return
            if not self._open:
                return
        _write(text)

    def open(self) -> None:
        with self._lock:
            held, self._held, self._open = self._held, [], True
        for text in held:
            _write(text)

    def close(self) -> None:
        with self._lock:
            self._held, self._open = [], False
