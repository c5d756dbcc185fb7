"""Plug-in points like papermill's: an out-of-tree trigger kind and executor backend, installed by entry points
from a package made in the test's folder, used by ``check``, ``graph``, ``run`` and ``serve`` without touching jetnb.

The package is put on ``PYTHONPATH`` with a ``.dist-info`` folder holding its
``entry_points.txt``: the same metadata pip writes, read by
``importlib.metadata`` in the jetnb processes the test starts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import run_cli

INBOX_KIND = '''
"""A poll trigger: every file in a folder is a record; a new file starts a run."""
from jetnb.fields import Field, text
from jetnb.triggers.base import POLL_SCHEMA, PollKind, SourceError


class InboxKind(PollKind):
    schema = {"folder": Field(text, required=True, help="folder to watch"), **POLL_SCHEMA}

    def label(self, spec):
        return f"a file lands in {spec['folder']}/"

    def read(self, spec, folder):
        inbox = folder / spec["folder"]
        if not inbox.is_dir():
            raise SourceError(f"no folder {inbox}")
        return [{"id": p.name, "text": p.read_text()} for p in sorted(inbox.iterdir()) if p.is_file()]
'''

TINY_BACKEND = '''
"""A backend that runs notebooks as the local one does and says so in the run record."""
from jetnb.executor.local import LocalBackend


class TinyBackend(LocalBackend):
    def execute(self, request, observer, cancel):
        outcome = super().execute(request, observer, cancel)
        outcome.worker = "tiny-backend"
        return outcome
'''

ENTRY_POINTS = """[jetnb.triggers]
inbox = jetnb_tiny_plugin.inbox:InboxKind

[jetnb.executors]
tiny = jetnb_tiny_plugin.backend:TinyBackend
"""

WATCHER = ["%load_ext jetnb", """%%workflow
name: inbox-watch
triggers:
  - inbox: {folder: inbox, every: 1s}
""", ("params", "change: str = ''\nrecord: dict = {}"), "%%result\n{'change': change, 'file': record.get('id')}"]


@pytest.fixture
def plugin(tmp_path: Path) -> dict[str, str]:
    """The plug-in package on disk; returns the environment that makes it installed."""
    site = tmp_path / "plugin-site"
    package = site / "jetnb_tiny_plugin"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "inbox.py").write_text(INBOX_KIND)
    (package / "backend.py").write_text(TINY_BACKEND)
    dist = site / "jetnb_tiny_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: jetnb-tiny-plugin\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(ENTRY_POINTS)
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}


def test_a_plugin_trigger_is_checked_and_drawn(plugin, make_nb, project):
    make_nb("watch.ipynb", WATCHER)
    checked = run_cli("check", "watch.ipynb", cwd=project, env=plugin)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "triggers: inbox" in checked.stdout
    assert "a file lands in inbox/" in run_cli("graph", "watch.ipynb", cwd=project, env=plugin).stdout
    make_nb("bad.ipynb", ["%%workflow\ntriggers:\n  - inbox: {every: 1s}\n"])
    refused = run_cli("check", "bad.ipynb", cwd=project, env=plugin)
    assert refused.returncode == 1 and "triggers[0].inbox.folder: required" in refused.stdout
    unknown = run_cli("check", "watch.ipynb", cwd=project)  # not installed: an unknown trigger, named
    assert unknown.returncode == 1 and "unknown trigger 'inbox'" in unknown.stdout


def test_a_plugin_backend_runs_a_workflow(plugin, project):
    result = run_cli("run", str(Path(__file__).resolve().parent.parent / "notebooks" / "hello.ipynb"),
                     "--backend", "tiny", "-p", "name", "plugin", "--json", cwd=project, env=plugin)
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    assert record["status"] == "succeeded" and record["worker"] == "tiny-backend"
    assert record["result"] == {"greeting": "Hello, plugin!"}
    missing = run_cli("run", "x.ipynb", "--backend", "tiny", cwd=project)
    assert missing.returncode == 2 and "unknown backend 'tiny'" in missing.stderr


def test_serve_fires_a_plugin_trigger(plugin, server):
    srv = server(env=plugin)
    srv.workflow("watch", WATCHER)
    inbox = srv.notebooks / "inbox"
    inbox.mkdir()
    (inbox / "first.txt").write_text("1")
    srv.start()
    srv.event("baseline", "1 record(s)")
    (inbox / "second.txt").write_text("2")
    srv.advance(2)
    [run] = srv.finished_runs("inbox-watch", 1)
    assert run["trigger"] == "inbox" and run["result"] == {"change": "created", "file": "second.txt"}
    assert srv.stop() == 0
