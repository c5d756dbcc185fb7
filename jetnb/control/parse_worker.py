"""A worker process of ``parsing.Parser``: parses the chunks of notebooks it is sent until its socket closes.

Run as ``python -m jetnb.control.parse_worker FD`` with one end of a
socket pair as FD. It parses one small notebook before saying it is ready,
so its imports (nbformat's schema, YAML, the trigger kinds) are done before
it is handed work. Ctrl-C in the server's terminal is the server's to
handle: the worker ignores it and ends with the server's end of the socket.
"""

from __future__ import annotations

import json
import signal
import sys
from multiprocessing.connection import Connection
from pathlib import Path

from .parsing import Unparsed, parse, parse_chunk

WARM_UP = json.dumps({"cells": [
    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
     "source": "%%workflow\nname: warm-up\ntriggers:\n  - schedule: {cron: '0 3 * * *'}"},
    {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "outputs": [], "execution_count": None,
     "source": "n: int = 0"}],
    "metadata": {}, "nbformat": 4, "nbformat_minor": 5}).encode()


def main(fd: int) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    conn = Connection(fd)
    parse(Unparsed(Path("warm-up.ipynb"), WARM_UP))
    try:
        conn.send(None)  # ready
        while True:
            chunk, admit = conn.recv()
            conn.send(parse_chunk(chunk, admit))
    except (EOFError, OSError):  # the server closed its end (done, stopping or gone)
        return


if __name__ == "__main__":
    main(int(sys.argv[1]))
