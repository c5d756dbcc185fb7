"""A real JupyterLab server and Debian's Chromium driven by Playwright, for the browser tests.

Playwright's own browser download cannot be used here, so Chromium is the
system one (``/usr/bin/chromium``, installed by ``ensure_chromium`` the first
time a browser test needs it). Everything talks to 127.0.0.1 only, and every
wait is bounded.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# no update checks or news (the tests reach nothing but 127.0.0.1); every cell rendered, not only those in view
LAB_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings":
                {"checkForUpdates": False, "fetchNews": "false"},
                "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"}}


@dataclass
class Lab:
    url: str
    token: str
    root: Path
    log: Path
    base_url: str = "/"  # Jupyter's ``ServerApp.base_url``; ``url`` ends with it (less its last slash)

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``: what an absolute path on the server is joined to."""
        return self.url[:len(self.url) - len(self.base_url.rstrip("/"))]

    def notebook_url(self, name: str) -> str:
        return f"{self.url}/lab/tree/{name}?reset&token={self.token}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def jupyterlab(root: Path, home: Path, timeout: float = 90, env: dict[str, str] | None = None,
               base_url: str = "/") -> Iterator[Lab]:
    """``jupyter lab`` serving ``root`` on a free local port, with its settings under ``home``; stopped by pid.

    ``env`` is added to its environment (its kernels inherit it: e.g. ``JETNB_USER_TOKEN``); ``base_url`` is
    Jupyter's (``/user/ann/`` as JupyterHub gives it)."""
    port, token = free_port(), secrets.token_hex(16)
    settings = home / "lab-settings"
    for name, values in LAB_SETTINGS.items():
        (settings / name).parent.mkdir(parents=True, exist_ok=True)
        (settings / name).write_text(json.dumps(values), encoding="utf-8")
    env = {**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings),
           "JUPYTERLAB_WORKSPACES_DIR": str(home / "lab-workspaces"), **(env or {})}
    log = home / "jupyterlab.log"
    args = [sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={root}", "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate", "--LabApp.extension_manager=readonly",
            f"--ServerApp.base_url={base_url}", "--allow-root"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=root)
    lab = Lab(f"http://127.0.0.1:{port}{base_url.rstrip('/')}", token, root, log, base_url)
    try:
        _wait_until_serving(lab, proc, timeout)
        yield lab
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


def _wait_until_serving(lab: Lab, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{lab_log(lab)}")
        try:
            with urllib.request.urlopen(f"{lab.url}/api/status?token={lab.token}", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.25)
    raise TimeoutError(f"jupyter lab did not answer within {timeout:.0f}s:\n{lab_log(lab)}")


def lab_log(lab: Lab) -> str:
    """The server's output, less ipykernel's notice that it runs over TCP without encryption."""
    lines = lab.log.read_text(encoding="utf-8", errors="replace").splitlines()
    return "\n".join(line for line in lines if "without encryption" not in line)


def ensure_chromium() -> None:
    """Debian's chromium, installed here when missing, so the README's test command needs nothing done first.

    Playwright cannot download a browser on this network; Debian's package
    comes from the package mirrors, which are reachable. Installing needs
    root (as in CI and the project's machines); otherwise the message says
    what to run.
    """
    if Path(CHROMIUM).exists():
        return
    apt = ["apt-get", "install", "-y", "-qq", "chromium"]
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise RuntimeError(f"the browser tests need Debian's chromium at {CHROMIUM}: run `sudo {' '.join(apt)}` "
                           "(or skip them with -m 'not slow')")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    if subprocess.run(apt, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True, timeout=600)
        done = subprocess.run(apt, env=env, capture_output=True, text=True, timeout=1200)
        if done.returncode != 0:
            raise RuntimeError(f"installing chromium failed:\n{done.stderr[-2000:]}")


@contextmanager
def chromium(home: Path) -> Iterator[Any]:
    """A headless Chromium (the system one) with a fresh profile; yields a Playwright browser context."""
    from playwright.sync_api import sync_playwright

    ensure_chromium()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(home / "chromium-profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": 1100, "height": 900})
        try:
            yield context
        finally:
            context.close()


def open_notebook(page: Any, lab: Lab, name: str, timeout_ms: int = 90_000) -> None:
    """Open a notebook in JupyterLab and wait until its kernel is idle."""
    page.goto(lab.notebook_url(name), timeout=timeout_ms)
    page.wait_for_function(
        """(name) => {
            const widget = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            const kernel = widget && widget.sessionContext && widget.sessionContext.session
                && widget.sessionContext.session.kernel;
            return widget && widget.context.path === name && kernel && kernel.status === 'idle';
        }""", arg=name, timeout=timeout_ms)


def run_all_cells(page: Any) -> None:
    """Run every cell through JupyterLab's own command (key presses were flaky)."""
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
