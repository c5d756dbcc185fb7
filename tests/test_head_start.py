"""``jetnb run``'s head start: the kernel starts before the run is validated and recorded, and is never left behind.

Real CLI processes and kernels; waits are bounded, nothing asserts a duration.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import psutil
import pytest

from conftest import run_cli
from test_forked import wait_until

BORN = ("%%result\nimport os, psutil\n"
        "{'born': psutil.Process().create_time(), 'cwd': os.getcwd()}")


KERNEL_COMMANDS = ("ipykernel_launcher", "jetnb.executor.zygote")  # an ordinary kernel; a zygote or a kernel it forked


def kernels_in(folder: str, since: float) -> list[psutil.Process]:
    """Kernel processes (and kernel zygotes) started since ``since`` whose folder is ``folder``."""
    found = []
    for process in psutil.process_iter(["cmdline", "create_time"]):
        try:
            command = " ".join(process.info["cmdline"] or ())
            if (any(kind in command for kind in KERNEL_COMMANDS)
                    and process.info["create_time"] >= since and process.cwd() == folder):
                found.append(process)
        except psutil.Error:
            continue
    return found


def test_the_kernel_starts_before_the_run_and_runs_it_in_the_notebook_folder(make_nb, project):
    (project / "flows").mkdir()
    make_nb("flows/born.ipynb", ["%load_ext jetnb", "%%workflow\nname: born\n", ("params", "n: int = 1"), BORN])
    done = run_cli("run", "flows/born.ipynb", "-p", "n", "2", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["status"] == "succeeded", record["error"]
    result = record["result"]
    assert result["born"] < datetime.fromisoformat(record["started_at"]).timestamp()  # started ahead: before the run was recorded as running
    assert result["cwd"] == str((project / "flows").resolve())


PARENT = ("%%result\nimport psutil\n"
          "{'parent': ' '.join(psutil.Process().parent().cmdline())}")


def test_the_kernel_is_forked_by_a_zygote_of_its_own_that_ends_with_the_run(make_nb, project):
    make_nb("forked.ipynb", ["%load_ext jetnb", "%%workflow\nname: forked\n", PARENT])
    since = time.time() - 1
    done = run_cli("run", "forked.ipynb", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["status"] == "succeeded", record["error"]
    assert "-m jetnb.executor.zygote" in record["result"]["parent"]
    wait_until(lambda: not kernels_in(str(project), since), "the kernel and its zygote gone with the command")


def test_a_kernel_that_is_not_the_zygotes_starts_the_ordinary_way(make_nb, project):
    spec = Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels" / "other-python"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel", "-f", "{connection_file}"],
        "display_name": "Other Python", "language": "python"}))
    make_nb("other.ipynb", ["%load_ext jetnb", "%%workflow\nname: other\n", PARENT])
    since = time.time() - 1
    done = run_cli("run", "other.ipynb", "-k", "other-python", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    record = json.loads(done.stdout)
    assert record["status"] == "succeeded", record["error"]
    assert "jetnb" in record["result"]["parent"] and "zygote" not in record["result"]["parent"]  # the CLI itself
    assert "ordinary kernel" not in done.stderr  # a one-off run has nothing to say about it
    wait_until(lambda: not kernels_in(str(project), since), "no kernel or zygote left")


def test_a_run_refused_at_validation_leaves_no_kernel(make_nb, project):
    make_nb("typed.ipynb", ["%load_ext jetnb", "%%workflow\nname: typed\n", ("params", "n: int = 1"), "n"])
    since = time.time() - 1
    refused = run_cli("run", "typed.ipynb", "-p", "n", "not a number", cwd=project)
    assert refused.returncode == 2 and "parameter 'n'" in refused.stderr
    wait_until(lambda: not kernels_in(str(project), since), "no kernel left by the refused run")
    assert not (project / "runs").exists() or not any((project / "runs").rglob("*.ipynb"))


FIRST_START = """
import importlib.abc, json, sys, threading
from jetnb.executor import fastimport
from jetnb.executor.run_kernel import new_manager

seen, starting = [], threading.Event()


class Watch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if starting.is_set() and threading.current_thread().name == "starter":
            seen.append([name, fastimport._importing._is_owned()])
        return None


sys.meta_path.insert(0, Watch())


def start():
    km = new_manager("python3")
    starting.set()
    km.start_kernel()
    starting.clear()
    km.shutdown_kernel(now=True)


thread = threading.Thread(target=start, name="starter")
thread.start()
thread.join(120)
print(json.dumps(seen))
"""


def test_a_processs_first_kernel_start_imports_only_under_the_import_lock(project):
    """jupyter_client imports ipykernel's kernel spec (and with it IPython) and psutil on a process's first kernel
    start; ``jetnb run``'s head start does that in a thread while the main thread imports IPython to validate, and
    CI saw the main thread handed a half-initialised ``IPython.paths``. Every such import is under the lock."""
    done = subprocess.run([sys.executable, "-c", FIRST_START], cwd=project, capture_output=True, text=True,
                          timeout=180, env={**os.environ, "HOME": str(project)})
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert "ipykernel.kernelspec" in [name for name, _ in seen]  # the start did import it
    assert [name for name, locked in seen if not locked] == []


def keep_modules(monkeypatch: pytest.MonkeyPatch) -> None:
    """What a local run in this process marks absent or defers for good (papermill's cloud clients, requests) is
    restored, or removed again, after the test: other tests import them for real."""
    from jetnb.executor.fastimport import CLOUD_CLIENTS

    for name in (*CLOUD_CLIENTS, "requests"):
        monkeypatch.setitem(sys.modules, name, sys.modules.get(name))
        if sys.modules[name] is None:
            monkeypatch.delitem(sys.modules, name)


def test_the_cli_run_in_process_leaves_no_kernel_behind(make_nb, project, monkeypatch):
    """The CLI invoked in a process that goes on (a test's CliRunner, a script): a kernel started ahead for a
    notebook that validation then refuses is killed when the command ends, not when the process does."""
    from click.testing import CliRunner

    from jetnb.cli import main
    from jetnb.executor import head_start

    keep_modules(monkeypatch)
    make_nb("broken.ipynb", ["%load_ext jetnb", "%%workflow\nname: broken", "%%step a\nx = (1,"])  # glance: fine
    since = time.time()
    for _ in range(2):
        result = CliRunner().invoke(main, ["run", "broken.ipynb", "--store", str(project / "s.db")])
        assert result.exit_code == 2 and "cell 3: line 2: syntax error" in result.output, result.output
        assert head_start._current == []
    wait_until(lambda: not kernels_in(str(project), since), "no kernel of the refused runs left")


def test_a_kernel_that_cannot_start_ahead_leaves_no_zygote(make_nb, project, monkeypatch):
    """The head start's kernel fails to start (no such kernel): the run fails as it would anyway, and the zygote
    started for it ends with the command, not with the process."""
    from click.testing import CliRunner

    from jetnb.cli import main

    keep_modules(monkeypatch)
    path = make_nb("nokernel.ipynb", ["%load_ext jetnb", "%%workflow\nname: nokernel", "%%step a\npass"])
    nb = json.loads(path.read_text())
    nb["metadata"]["kernelspec"] = {"name": "no-such-kernel", "display_name": "None", "language": "python"}
    path.write_text(json.dumps(nb))
    since = time.time() - 1
    result = CliRunner().invoke(main, ["run", "nokernel.ipynb", "--json", "--store", str(project / "s.db")])
    assert result.exit_code == 1, result.output
    assert "no-such-kernel" in result.output
    wait_until(lambda: not kernels_in(str(project), since), "no zygote left by the command")

