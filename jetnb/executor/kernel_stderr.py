"""Forward a kernel's stderr to ours, minus ipykernel 7's per-start notice about unencrypted TCP.

The notice is printed on every kernel start and says nothing about the run;
everything else the kernel writes to its stderr (crashes, C library noise)
still reaches the person running jetnb.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import IO

NOISE = ("Kernel is running over TCP without encryption",)


def filtered_stderr() -> IO[bytes]:
    """A pipe to pass as the kernel's ``stderr``; a daemon thread copies it to ours until the kernel exits."""
    read_fd, write_fd = os.pipe()
    reader = os.fdopen(read_fd, "rb")
    writer = os.fdopen(write_fd, "wb")

    def pump() -> None:
        with reader:
            for line in reader:
                if not any(noise.encode() in line for noise in NOISE):
                    sys.stderr.buffer.write(line) if hasattr(sys.stderr, "buffer") else sys.stderr.write(
                        line.decode(errors="replace"))
                    sys.stderr.flush()

    threading.Thread(target=pump, name="jetnb-kernel-stderr", daemon=True).start()
    return writer
