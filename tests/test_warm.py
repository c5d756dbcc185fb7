"""Warm kernels: forked ahead of time, each serving one run; real zygote, real kernels, no mocks.

A run proves it took a warm kernel by its kernel's start time: earlier than
the run itself. Every wait is bounded; nothing asserts a duration.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import psutil
import pytest

from jetnb.executor.forked import ForkedBackend
from jetnb.secrets.environment import withhold
from test_forked import probe_notebook, run, wait_until

WARM = 2
BORN = ("%%result\nimport os, psutil\n"
        "{'pid': os.getpid(), 'ppid': os.getppid(), 'born': psutil.Process().create_time(), 'cwd': os.getcwd(),\n"
        " 'late': os.environ.get('JETNB_TEST_LATE'), 'secret': os.environ.get('JETNB_TEST_LATE_SECRET'),\n"
        " 'seen_before': seen, 'text': open('data.txt').read()}")


@pytest.fixture
def warm(monkeypatch, project):
    """Makes a forked backend with WARM kernels, reached by ``jetnb.run(backend="forked")``, full when returned.

    Made in the test's body: pytest changes $PYTEST_CURRENT_TEST between a test's setup and its body, and a
    kernel forked with another environment than the run's is (rightly) never handed out."""
    from jetnb import executor

    made: list[ForkedBackend] = []

    def make() -> ForkedBackend:
        monkeypatch.setenv("JETNB_WARM_KERNELS", str(WARM))
        backend = ForkedBackend()
        made.append(backend)
        monkeypatch.setitem(executor._instances, "forked", backend)
        assert backend.warm is not None
        wait_until(lambda: len(backend.warm._ready) == WARM, "the warm kernels forked")
        return backend

    yield make
    for backend in made:
        backend.close()


def waiting_pids(backend: ForkedBackend) -> list[int]:
    return [km.provisioner.child.pid for km, _ in list(backend.warm._ready)]


def born_notebook(make_nb: Any, project: Path) -> Path:
    (project / "flows").mkdir(exist_ok=True)
    (project / "flows" / "data.txt").write_text("beside the notebook")
    return make_nb("flows/born.ipynb", ["%load_ext jetnb", ("params", "mark: str = 'a'"),
                                        "%%step remember\nseen = 'leak' in globals()\nleak = mark", BORN])


def test_runs_take_warm_kernels_each_fresh_in_the_notebook_folder(warm, make_nb, project):
    warm = warm()
    path = born_notebook(make_nb, project)
    waiting = set(waiting_pids(warm))
    results = []
    for mark in ("first", "second"):
        asked = time.time()
        done = run(project, path, mark=mark)
        assert done["status"] == "succeeded", done["error"]
        results.append(done["result"])
        assert done["result"]["born"] < asked  # started before the run was asked for
    first, second = results
    assert first["pid"] in waiting and first["pid"] != second["pid"]
    assert first["ppid"] == second["ppid"] == warm.zygote.pid
    assert not first["seen_before"] and not second["seen_before"]  # nothing of run 1 in run 2
    assert first["cwd"] == second["cwd"] == str((project / "flows").resolve())
    assert first["text"] == "beside the notebook"  # relative paths mean the notebook's folder
    wait_until(lambda: not psutil.pid_exists(first["pid"]), "the first run's kernel shut down, never reused")
    wait_until(lambda: len(warm.warm._ready) == WARM, "the taken kernels replaced")


def test_a_kernel_forked_before_the_environment_changed_is_never_handed_out(warm, make_nb, project, monkeypatch):
    warm = warm()
    path = born_notebook(make_nb, project)
    stale = set(waiting_pids(warm))
    monkeypatch.setenv("JETNB_TEST_LATE", "set after the warm kernels were forked")
    done = run(project, path)
    assert done["status"] == "succeeded", done["error"]
    assert done["result"]["late"] == "set after the warm kernels were forked"
    assert done["result"]["pid"] not in stale
    for pid in stale:
        wait_until(lambda pid=pid: not psutil.pid_exists(pid), f"stale warm kernel {pid} shut down unused")


def test_a_name_withheld_after_the_fork_is_in_no_kernel_that_runs(warm, make_nb, project, monkeypatch):
    """The variable was in this process's environment when the warm kernels were forked; once jetnb withholds it
    (a secret learnt later), none of those kernels serves a run, and the run's kernel never had it."""
    warm = warm()
    monkeypatch.setenv("JETNB_TEST_LATE_SECRET", "learnt-late-value")
    refill = set(waiting_pids(warm))
    path = born_notebook(make_nb, project)
    primed = run(project, path)  # the waiting kernels lack the variable: dropped; new ones are forked with it
    assert primed["status"] == "succeeded", primed["error"]
    assert primed["result"]["secret"] == "learnt-late-value"
    wait_until(lambda: len(warm.warm._ready) == WARM and not set(waiting_pids(warm)) & refill, "refilled")
    holding = set(waiting_pids(warm))
    withhold(["JETNB_TEST_LATE_SECRET"])
    done = run(project, path)
    assert done["status"] == "succeeded", done["error"]
    assert done["result"]["secret"] is None and done["result"]["pid"] not in holding


def test_a_warm_kernel_that_died_while_waiting_is_dropped(warm, make_nb, project):
    warm = warm()
    path = born_notebook(make_nb, project)
    dead = waiting_pids(warm)
    for pid in dead:
        os.killpg(pid, signal.SIGKILL)
    wait_until(lambda: not any(psutil.pid_exists(pid) for pid in dead), "the warm kernels dead")
    done = run(project, path)
    assert done["status"] == "succeeded", done["error"]
    assert done["result"]["pid"] not in dead and done["result"]["ppid"] == warm.zygote.pid


def test_cancel_stops_a_run_on_a_warm_kernel_and_the_next_run_works(warm, make_nb, project):
    warm = warm()
    slow = make_nb("slow.ipynb", ["%load_ext jetnb", "%%step wait\nimport time\nopen('started', 'w').close()\n"
                                  "for _ in range(6000):\n    time.sleep(0.05)"])
    ended: list[dict[str, Any]] = []
    worker = threading.Thread(target=lambda: ended.append(run(project, slow)), daemon=True)
    worker.start()
    wait_until(lambda: (project / "started").exists(), "the long step started")
    from jetnb.service.runs import RunService
    from jetnb.service.strategies import Inline
    from jetnb.store import Database

    other = Database(project / "jetnb.db")  # as another terminal would: the running run's service sees the request
    try:
        running = other.store().list_runs(status="running")
        assert len(running) == 1
        RunService(other, runs_dir=project / "runs", strategy=Inline()).cancel(running[0]["id"], by="tester",
                                                                              reason="enough")
    finally:
        other.close()
    worker.join(120)
    assert ended and ended[0]["status"] == "cancelled", ended
    after = run(project, probe_notebook(make_nb, "after.ipynb"))
    assert after["status"] == "succeeded", after["error"]


def test_close_shuts_the_waiting_kernels_down(monkeypatch, project):
    monkeypatch.setenv("JETNB_WARM_KERNELS", "2")
    backend = ForkedBackend()
    wait_until(lambda: len(backend.warm._ready) == 2, "the warm kernels forked")
    pids = waiting_pids(backend)
    zygote = backend.zygote.pid
    backend.close()
    for pid in [*pids, zygote]:
        wait_until(lambda pid=pid: not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE,
                   f"process {pid} gone")


def test_no_warm_kernels_when_turned_off(monkeypatch, make_nb, project):
    from jetnb import executor

    monkeypatch.setenv("JETNB_WARM_KERNELS", "0")
    backend = ForkedBackend()
    monkeypatch.setitem(executor._instances, "forked", backend)
    try:
        assert backend.warm is None
        path = born_notebook(make_nb, project)
        asked = time.time()
        done = run(project, path)
        assert done["status"] == "succeeded", done["error"]
        assert done["result"]["born"] >= asked - 1 and done["result"]["ppid"] == backend.zygote.pid
    finally:
        backend.close()
