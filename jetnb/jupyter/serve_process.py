"""``jetnb serve`` for the Lab's store: is one running, and starting one on the Lab root.

A running server holds an exclusive ``flock`` on ``<store>.serve.lock``
(``jetnb/server.py``), so "running" is "that lock is taken", whoever started
the server. Only a server started from this Lab has a known URL and pid.
The server is started in a session of its own so it keeps firing triggers
when JupyterLab stops; its output goes to ``serve.log`` next to the store,
where its generated API token is printed.
"""

from __future__ import annotations

import fcntl
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any


class AlreadyServing(RuntimeError):
    pass


class ServeProcess:
    def __init__(self, root: Path, store_path: Path, runs_dir: Path):
        self.root = root
        self.store_path = store_path
        self.runs_dir = runs_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._url: str | None = None

    @property
    def lock_path(self) -> Path:
        return Path(f"{self.store_path}.serve.lock")

    @property
    def log_path(self) -> Path:
        return self.store_path.parent / "serve.log"

    def running(self) -> bool:
        """Whether a ``jetnb serve`` holds the store's lock (tried without waiting, and released at once)."""
        try:
            handle = open(self.lock_path, "rb")
        except FileNotFoundError:
            return False
        with handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(handle, fcntl.LOCK_UN)
            return False

    def status(self) -> dict[str, Any]:
        alive = self._process is not None and self._process.poll() is None  # poll() also reaps one that ended
        running = self.running()
        ours = running and alive
        return {"running": running, "url": self._url if ours else None,
                "pid": self._process.pid if ours and self._process else None, "store": self._shown_store()}

    def _shown_store(self) -> str:
        store = self.store_path.resolve()
        return store.relative_to(self.root).as_posix() if store.is_relative_to(self.root) else str(store)

    def start(self) -> dict[str, Any]:
        """Start ``jetnb serve <root>`` on the Lab's store and run logs, on a free local port."""
        if self.running():
            raise AlreadyServing(f"a jetnb serve is already running for {self.store_path}")
        port = _free_port()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "jetnb", "serve", str(self.root), "--store", str(self.store_path),
                 "--runs-dir", str(self.runs_dir), "--port", str(port)],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=self.root,
                start_new_session=True)
        self._url = f"http://127.0.0.1:{port}"
        return {"started": True, "pid": self._process.pid}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
