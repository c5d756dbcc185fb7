"""OS faults end runs cleanly: a disk that fills mid-run, a read-only runs folder, a path under a file, an unusable
store, and ``kill -9`` of ``jetnb serve`` with runs queued, running and waiting — nothing lost, nothing run twice.

The full disk is the real error (``EFBIG``) from a file-size limit set on the
``jetnb run`` process; the read-only folder is an immutable one (``chattr
+i``), which refuses even root.
"""

from __future__ import annotations

import json
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import run_cli
from servekit import wait_for
from jetnb.store import Store

BIG = ["%load_ext jetnb", "%%step small\nprint('fits')", "%%step big\nprint('x' * 3_000_000)", "%%result\n'done'"]
HOLD = ["%load_ext jetnb", "%%workflow\nname: hold\nconcurrency: 1",
        ("params", "mark: str = 'a'"),
        "%%step work\nimport os, time\nopen('executions.txt', 'a').write(mark + '\\n')\nt0 = time.monotonic()\n"
        "while not os.path.exists('release') and time.monotonic() - t0 < 60:\n    time.sleep(0.05)",
        "%%result\nmark"]
GATE = ["%load_ext jetnb", "%%workflow\nname: gate\napprovers:\n  managers: [alice]",
        "%%step before\nopen('gate.txt', 'a').write('before\\n')",
        "%%step pay --approve managers\nopen('gate.txt', 'a').write('pay\\n')", "%%result\n'paid'"]


def runs(project: Path) -> list[dict]:
    store = Store(project / ".jetnb" / "jetnb.db")
    try:
        return store.list_runs(limit=100)
    finally:
        store.close()


def limited(limit: int) -> None:
    """In the child: ``EFBIG`` instead of a kill when a file grows past ``limit`` bytes."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def test_a_disk_that_fills_mid_run_ends_the_run_failed_in_one_line(make_nb, project):
    make_nb("big.ipynb", BIG)
    Store(project / ".jetnb" / "jetnb.db").close()  # the store exists before the limit applies
    done = subprocess.run([sys.executable, "-m", "jetnb", "run", "big.ipynb"], cwd=project, capture_output=True,
                          text=True, timeout=120, preexec_fn=lambda: limited(1_000_000))
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "the run log could not be saved: File too large" in done.stderr
    [run] = runs(project)
    assert run["status"] == "failed" and run["error"]["type"] == "OSError"
    assert "traceback" not in run["error"]


def test_a_read_only_runs_folder_is_refused_before_anything_is_recorded(make_nb, project):
    make_nb("big.ipynb", BIG)
    folder = project / "frozen"
    folder.mkdir()
    if subprocess.run(["chattr", "+i", str(folder)], capture_output=True).returncode != 0:
        pytest.fail("chattr +i is needed to make a folder read-only for root (e2fsprogs)")
    try:
        done = run_cli("run", "big.ipynb", "--runs-dir", "frozen", cwd=project)
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert f"cannot write run logs under {folder / 'big'}: Operation not permitted" in done.stderr
    assert runs(project) == []


def test_a_runs_path_under_a_file_and_an_unusable_store_are_one_line(make_nb, project):
    make_nb("big.ipynb", BIG)
    (project / "afile").write_text("not a folder")
    under = run_cli("run", "big.ipynb", "--runs-dir", "afile/runs", cwd=project)
    assert under.returncode == 2 and "cannot write run logs under" in under.stderr and "Not a directory" in under.stderr
    (project / "notsqlite.db").write_text("hello")
    for args in (("runs",), ("show", "x"), ("run", "big.ipynb"), ("approvals",)):
        bad = run_cli(*args, "--store", "notsqlite.db", cwd=project)
        assert bad.returncode == 2, (args, bad.stderr)
        assert bad.stderr.strip().splitlines()[-1] == \
            "jetnb: the store notsqlite.db cannot be used: file is not a database", (args, bad.stderr)
        assert "Traceback" not in bad.stderr
    assert runs(project) == []


def test_kill_9_of_the_server_loses_nothing_and_runs_nothing_twice(server, project, user):
    srv = server(args=("--max-runs", "1"))
    srv.workflow("hold", HOLD)
    srv.workflow("gate", GATE)
    srv.start()
    gated = srv.api("POST", "/api/workflows/gate/runs", json={}).json()["run_id"]
    wait_for(lambda: srv.run(gated)["status"] == "waiting", "the gated run to wait")
    running = srv.api("POST", "/api/workflows/hold/runs", json={"params": {"mark": "first"}}).json()["run_id"]
    executions = srv.notebooks / "executions.txt"
    wait_for(lambda: srv.step_statuses(running)[:1] == ["running"] and executions.exists()
             and executions.read_text() == "first\n", "the first run to hold (its step has written)")
    queued = srv.api("POST", "/api/workflows/hold/runs", json={"params": {"mark": "second"}}).json()["run_id"]
    assert srv.run(queued)["status"] == "queued"
    srv.kill()

    (srv.notebooks / "release").touch()
    srv.start()
    first = wait_for(lambda: (r := srv.run(running))["status"] not in ("queued", "running") and r, "the cut-off run")
    assert first["status"] == "interrupted"  # its process is gone: it ended, it is not run again by itself
    second = wait_for(lambda: (r := srv.run(queued))["status"] == "succeeded" and r, "the queued run to run")
    assert second["result"] == "second"
    assert srv.run(gated)["status"] == "waiting"  # a waiting run holds no process: it keeps waiting
    [request] = srv.api("GET", "/api/approvals").json()["approvals"]
    token = user("alice")["JETNB_USER_TOKEN"]
    assert srv.api("POST", f"/api/approvals/{request['id']}/approve", json={}, token=token).status_code == 200
    wait_for(lambda: srv.run(gated)["status"] == "succeeded", "the gated run to resume and finish")
    assert srv.stop() == 0
    assert executions.read_text().splitlines() == ["first", "second"]
    assert (srv.notebooks / "gate.txt").read_text().splitlines() == ["before", "pay"]  # nothing twice
    for run_id in (running, queued, gated):
        log = json.loads(Path(srv.run(run_id)["log_path"]).read_text())
        assert log["metadata"]["jetnb"]["run_id"] == run_id


@pytest.fixture(autouse=True)
def _chattr_available() -> None:
    if shutil.which("chattr") is None:
        pytest.fail("chattr (e2fsprogs) is needed by these tests")


def test_help_of_every_command_is_usage_and_exit_0(project):
    from click.testing import CliRunner

    from jetnb.cli import main

    def commands(group, prefix):
        for name, command in group.commands.items():
            yield [*prefix, name]
            if hasattr(command, "commands"):
                yield from commands(command, [*prefix, name])

    every = list(commands(main, []))
    assert len(every) > 20
    for args in [[], *every]:
        done = run_cli(*args, "--help", cwd=project) if args in ([], ["run"], ["cancel"]) else None
        shown = CliRunner().invoke(main, [*args, "--help"])
        for result in filter(None, (done, shown)):
            output = getattr(result, "stdout", "") + (getattr(result, "stderr", "") or "")
            assert getattr(result, "returncode", getattr(result, "exit_code", None)) == 0, (args, output)
            assert "Usage:" in output and "unexpected error" not in output, (args, output)
