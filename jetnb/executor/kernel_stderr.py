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


def filtered_stderr() -> IO[bytes]:
    """A pipe to pass as the kernel's ``stderr``; a daemon thread copies it to ours until the kernel exits."""
    read_fd, write_fd = os.pipe()
    reader = os.fdopen(read_fd, "rb")
    writer = os.fdopen(write_fd, "wb")

    def pump() -> None:
        with reader:
            for line in reader:
                if not any(noise.encode() in line for noise in NOISE):
                    text = masker.mask(line.decode(errors="replace"))
                    sys.stderr.buffer.write(text.encode()) if hasattr(sys.stderr, "buffer") else sys.stderr.write(text)
                    sys.stderr.flush()

    threading.Thread(target=pump, name="jetnb-kernel-stderr", daemon=True).start()
    return writer
