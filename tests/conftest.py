"""Shared fixtures: an isolated home, a scratch project folder, notebook builders and the real CLI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent


def pytest_configure(config: pytest.Config) -> None:
    """Kernels, IPython and Jupyter write under a throwaway home, never the real one (nbval kernels too)."""
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="jetnb-test-home-"))
    os.environ["HOME"] = str(home)
    os.environ["IPYTHONDIR"] = str(home / ".ipython")
    os.environ["JUPYTER_CONFIG_DIR"] = str(home / ".jupyter")
    os.environ["JUPYTER_DATA_DIR"] = str(home / ".local/share/jupyter")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(home / ".local/share/jupyter/runtime")
    os.environ.pop("JETNB_STORE", None)


def notebook(cells: list[Any], path: Path) -> Path:
    """Write a notebook from a compact list: a string is a code cell, ("md", text), ("params", code)."""
    nb_cells = []
    for cell in cells:
        kind, source = ("code", cell) if isinstance(cell, str) else cell
        entry: dict[str, Any] = {"cell_type": "markdown" if kind == "md" else "code", "metadata": {},
                                 "source": source}
        if kind != "md":
            entry.update(outputs=[], execution_count=None)
        if kind == "params":
            entry["metadata"]["tags"] = ["parameters"]
        nb_cells.append(entry)
    nb = {"cells": nb_cells, "nbformat": 4, "nbformat_minor": 4,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}
    path.write_text(json.dumps(nb, indent=1), encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A scratch working folder: the store and runs/ land here."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def declare(project: Path, monkeypatch: pytest.MonkeyPatch):
    """Declare secrets in this process as running a ``%%workflow`` cell with ``secrets: [...]`` would; then
    ``jetnb.secret`` reads the environment and the project's secrets file, as for a person in JupyterLab."""
    from jetnb.runtime import context

    def declare(*names: str) -> None:
        monkeypatch.setitem(context.current().config, "secrets", list(names))

    return declare


@pytest.fixture
def make_nb(project: Path):
    def make(name: str, cells: list[Any]) -> Path:
        return notebook(cells, project / name)

    return make


def run_cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = 120, input: str | None = None) -> subprocess.CompletedProcess:
    """The real ``jetnb`` command in a subprocess, as a user would run it (``input``: its stdin)."""
    return subprocess.run([sys.executable, "-m", "jetnb", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})}, input=input)


@pytest.fixture
def user(project: Path):
    """``user(name, *groups)``: the environment that makes the CLI (and ``LocalClient``) act as that jetnb user.

    The user is added to the project's store on first use (``jetnb users add``), and its personal token is put in
    ``$JETNB_USER_TOKEN``: identity comes from a credential, never from a typed name.
    """
    made: dict[str, dict[str, str]] = {}

    def make(name: str, *groups: str) -> dict[str, str]:
        if name not in made:
            result = run_cli("users", "add", name, *[a for g in groups for a in ("--group", g)], cwd=project)
            assert result.returncode == 0, result.stderr
            made[name] = {"JETNB_USER_TOKEN": re.search(r"token: (\S+)", result.stdout).group(1)}
        return made[name]

    return make


@pytest.fixture
def cli(project: Path):
    def call(*args: str, **kw: Any) -> subprocess.CompletedProcess:
        return run_cli(*args, cwd=project, **kw)

    return call


def run_json(result: subprocess.CompletedProcess) -> dict[str, Any]:
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout)


@pytest.fixture
def server(project: Path):
    """Make a ``servekit.Server`` in the project folder; every server made is stopped at the end of the test."""
    from servekit import Server

    made: list[Server] = []

    def make(**kw: Any) -> Server:
        made.append(Server(project, **kw))
        return made[-1]

    yield make
    for srv in made:
        srv.close()
