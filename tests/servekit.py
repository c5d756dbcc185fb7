"""A real ``jetnb serve`` for tests: a subprocess on a free loopback port in a scratch project, with a fake clock.

Nothing is mocked: the server is the installed CLI, runs execute in real
kernels, the store is the real SQLite file and requests go over HTTP. Waits
are polls bounded in time; how long anything took is never asserted.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import requests

from conftest import notebook
from jetnb.store import Store

TOKEN = "test-token"
START = datetime(2026, 1, 1, 0, 0, 30, tzinfo=timezone.utc)  # 30 s before the first whole minute


def ts(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).isoformat(timespec="milliseconds")


def wait_for(check: Callable[[], Any], what: str, timeout: float = 90) -> Any:
    """Poll ``check`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


class Server:
    def __init__(self, project: Path, env: dict[str, str] | None = None, args: tuple[str, ...] = ()):
        self.project = project
        self.notebooks = project / "notebooks"
        self.notebooks.mkdir(exist_ok=True)
        self.clock_file = project / "clock.txt"
        if not self.clock_file.exists():
            self.set_clock(START.timestamp())
        self.env = {**os.environ, "JETNB_TOKEN": TOKEN, "JETNB_FAKE_CLOCK": str(self.clock_file), **(env or {})}
        self.args = args
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.starts = 0

    # files ------------------------------------------------------------------

    def workflow(self, name: str, cells: list[Any]) -> Path:
        return notebook(cells, self.notebooks / f"{name}.ipynb")

    @property
    def log_path(self) -> Path:
        return self.project / f"serve-{self.starts}.log"

    def log(self) -> str:
        return "".join((self.project / f"serve-{n}.log").read_text(errors="replace") for n in range(1, self.starts + 1))

    # the clock ----------------------------------------------------------------

    def now(self) -> float:
        return float(self.clock_file.read_text())

    def set_clock(self, seconds: float) -> None:
        tmp = self.clock_file.with_suffix(".tmp")
        tmp.write_text(repr(float(seconds)))
        os.replace(tmp, self.clock_file)

    def advance(self, seconds: float) -> None:
        self.set_clock(self.now() + seconds)

    # the process --------------------------------------------------------------

    def start(self) -> Server:
        self.starts += 1
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "jetnb", "serve", "notebooks", "--port", "0", "--grace", "20", *self.args],
                cwd=self.project, stdout=log, stderr=subprocess.STDOUT, env=self.env)
        match = wait_for(lambda: self.proc.poll() is None and re.search(r"on (http://127\.0\.0\.1:\d+)",
                                                                         self.log_path.read_text()) or
                         self._exited(), "the server to listen", timeout=60)
        self.url = match.group(1)
        return self

    def _exited(self) -> None:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"jetnb serve exited with {self.proc.returncode}:\n{self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 90) -> int:
        """Send ``sig`` and wait for the exit code."""
        assert self.proc is not None
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        self.proc = None
        return code

    def kill(self) -> None:
        self.stop(signal.SIGKILL)

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)

    # talking to it ------------------------------------------------------------

    def api(self, method: str, path: str, token: str | None = TOKEN, **kw: Any) -> requests.Response:
        headers = {**({"Authorization": f"Bearer {token}"} if token else {}), **kw.pop("headers", {})}
        return requests.request(method, self.url + path, headers=headers, timeout=60, **kw)

    def hook(self, name: str, body: bytes | str | dict | None = None, headers: dict[str, str] | None = None,
             **kw: Any) -> requests.Response:
        data = json.dumps(body) if isinstance(body, dict) else body
        return requests.post(f"{self.url}/hooks/{name}", data=data, headers=headers or {}, timeout=60, **kw)

    def cli(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "jetnb", *args], cwd=self.project, capture_output=True,
                              text=True, timeout=60, env={**self.env, **(env or {})})

    # the store ----------------------------------------------------------------

    def store(self) -> Store:
        return Store(self.project / ".jetnb" / "jetnb.db")

    def runs(self, workflow: str | None = None, **filters: Any) -> list[dict[str, Any]]:
        """Oldest first."""
        store = self.store()
        try:
            return store.list_runs(workflow=workflow, limit=1000, **filters)[::-1]
        finally:
            store.close()

    def finished_runs(self, workflow: str, count: int, timeout: float = 120) -> list[dict[str, Any]]:
        """Wait until ``workflow`` has ``count`` runs, all ended; returns them oldest first."""
        def done() -> list[dict[str, Any]] | None:
            runs = self.runs(workflow)
            ended = [r for r in runs if r["status"] in ("succeeded", "failed", "interrupted")]
            return runs if len(runs) >= count and len(ended) == len(runs) else None

        return wait_for(done, f"{count} finished run(s) of {workflow}", timeout)

    def run(self, run_id: str) -> dict[str, Any]:
        """A run with its steps."""
        store = self.store()
        try:
            return store.get_run(run_id)
        finally:
            store.close()

    def step_statuses(self, run_id: str) -> list[str]:
        return [step["status"] for step in self.run(run_id)["steps"]]

    def events(self, kind: str | None = None, workflow: str | None = None) -> list[dict[str, Any]]:
        """Audit entries, oldest first, as ``{"kind", "message", ...}``: ``workflow.fire`` has kind ``fire``."""
        store = self.store()
        try:
            entries = store.audit_log(f"workflow:{workflow}" if workflow else None)
        finally:
            store.close()
        found = [{**e, "kind": e["action"].partition(".")[2], "message": (e["detail"] or {}).get("message", "")}
                 for e in entries]
        return [e for e in found if kind in (None, e["kind"])]

    def event(self, kind: str, contains: str = "", workflow: str | None = None) -> dict[str, Any]:
        """Wait for an audit entry of ``kind`` whose message contains ``contains``."""
        return wait_for(lambda: next((e for e in self.events(kind, workflow) if contains in e["message"]), None),
                        f"a {kind!r} entry with {contains!r}")

    def fires(self, workflow: str) -> list[dict[str, Any]]:
        """Oldest first."""
        store = self.store()
        try:
            return store.fires(workflow, limit=1000)[::-1]
        finally:
            store.close()
