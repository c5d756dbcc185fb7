"""End-to-end runs through the real CLI with real kernels: success, branches, failures, bad input, crashes."""

from __future__ import annotations

import atexit
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pytest

from conftest import REPO, run_json
from jetnb.store import Store

HELLO = str(REPO / "notebooks" / "hello.ipynb")
REFUND = str(REPO / "notebooks" / "refund_order.ipynb")


def runs_in(project: Path) -> list[dict]:
    db = project / ".jetnb" / "jetnb.db"
    return Store(db).list_runs(limit=100) if db.exists() else []


def test_hello_prints_result_and_keeps_the_run_log(cli, project):
    result = cli("run", HELLO, "-p", "name", "Ada", "-p", "times", "2")
    assert result.returncode == 0, result.stderr
    assert 'result: {"greeting": "Hello, Ada! Hello, Ada!"}' in result.stdout
    assert "[1/2] ✓ step greet succeeded" in result.stderr
    log_line = next(line for line in result.stdout.splitlines() if line.startswith("run log: "))
    log = project / log_line.removeprefix("run log: ")
    assert log.parent == project / "runs" / "hello"
    nb = nbformat.read(log, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.jetnb.status == "succeeded"
    assert nb.metadata.jetnb.result == {"greeting": "Hello, Ada! Hello, Ada!"}
    greet = next(c for c in nb.cells if c.source.startswith("%%step greet"))
    assert greet.metadata.jetnb.status == "succeeded"
    assert greet.outputs[0]["data"]["text/plain"].startswith("✓ step greet succeeded")
    assert any("Hello, Ada! Hello, Ada!" in o.get("text", "") for o in greet.outputs)


def test_json_record_has_every_field(cli):
    run = run_json(cli("run", HELLO, "--json", "-q"))
    for key in ("id", "workflow", "status", "trigger", "params", "result", "error", "started_at", "finished_at",
                "duration", "log_path", "steps"):
        assert key in run
    assert run["workflow"] == "hello" and run["status"] == "succeeded" and run["trigger"] == "manual"
    assert run["params"] == {}
    assert [(s["name"], s["status"]) for s in run["steps"]] == [("greet", "succeeded"), ("result", "succeeded")]
    assert all(s["duration"] is not None and s["error"] is None for s in run["steps"])


@pytest.mark.parametrize("reason,order_id,branch", [("wrong item", 1001, "coupon"), ("changed my mind", 1002, "return")])
def test_refund_order_takes_one_branch(cli, project, reason, order_id, branch):
    shop = project / "shop.db"
    run = run_json(cli("run", REFUND, "-p", "order_id", str(order_id), "-p", "reason", reason,
                       "-p", "shop_db", str(shop), "--json"))
    assert run["status"] == "succeeded", run["error"]
    assert run["result"]["branch"] == branch and run["result"]["order_id"] == order_id
    steps = {s["name"]: s for s in run["steps"]}
    ran, skipped = ("issue_coupon", "mark_returned") if branch == "coupon" else ("mark_returned", "issue_coupon")
    assert steps[ran]["status"] == "succeeded"
    assert steps[skipped]["status"] == "skipped" and "is false" in steps[skipped]["detail"]["reason"]
    db = sqlite3.connect(shop)
    coupons = db.execute("SELECT order_id, amount FROM coupons").fetchall()
    notes = db.execute("SELECT recipient, message FROM notifications").fetchall()
    status = db.execute("SELECT status FROM orders WHERE id = ?", (order_id,)).fetchone()[0]
    if branch == "coupon":
        assert coupons == [(1001, 42.5)] and notes[0][0] == "managers" and status == "delivered"
    else:
        assert coupons == [] and notes == [] and status == "returned"


FAILING = [
    "%load_ext jetnb",
    ("params", "x: int = 1"),
    '%%step first\nprint("first ran")\ny = x + 1',
    '%%step boom\nraise ValueError(f"bad value {y}")',
    '%%step never\nprint("never")',
]


def test_failing_step_fails_the_run_with_its_error(cli, make_nb, project):
    make_nb("failing.ipynb", FAILING)
    result = cli("run", "failing.ipynb", "--json")
    assert result.returncode == 1
    run = json.loads(result.stdout)
    assert run["status"] == "failed"
    assert run["error"]["type"] == "ValueError" and run["error"]["message"] == "bad value 2"
    assert run["error"]["step"] == "boom" and run["error"]["cell"] == 4
    assert 'raise ValueError(f"bad value {y}")' in run["error"]["traceback"]
    assert [(s["name"], s["status"]) for s in run["steps"]] == [
        ("first", "succeeded"), ("boom", "failed"), ("never", "not_run")]
    text = cli("show", run["id"])
    assert "error in step boom (cell 4): ValueError: bad value 2" in text.stdout
    nb = nbformat.read(run["log_path"], as_version=4)
    boom = next(c for c in nb.cells if c.source.startswith("%%step boom"))
    assert any(o.output_type == "error" and o.ename == "ValueError" for o in boom.outputs)
    assert boom.metadata.jetnb.status == "failed"


def test_plain_papermill_notebook_succeeds_and_fails_as_with_papermill(cli, make_nb, project):
    make_nb("plain.ipynb", [("params", "x = 1"), "print(x * 2)", "1 / x"])
    ok = cli("run", "plain.ipynb", "-p", "x", "3", "--json")
    assert ok.returncode == 0
    assert [s["name"] for s in json.loads(ok.stdout)["steps"]] == ["cell-2", "cell-3"]
    bad = cli("run", "plain.ipynb", "-p", "x", "0", "--json")
    assert bad.returncode == 1
    assert json.loads(bad.stdout)["error"]["step"] == "cell-3"
    for value, code in (("3", 0), ("0", 1)):
        papermill = subprocess.run([sys.executable, "-m", "papermill", "plain.ipynb", "out.ipynb", "-p", "x", value,
                                    "--no-progress-bar"], cwd=project, capture_output=True, text=True, timeout=120)
        assert papermill.returncode == code


def test_papermill_engine_entry_point_records_steps(make_nb, project):
    make_nb("wf.ipynb", ["%load_ext jetnb", "%%step add\nz = 1 + 1", "%%result\nz"])
    result = subprocess.run([sys.executable, "-m", "papermill", "wf.ipynb", "out.ipynb", "--engine", "jetnb",
                             "--no-progress-bar"], cwd=project, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    nb = nbformat.read(project / "out.ipynb", as_version=4)
    assert nb.cells[1].metadata.jetnb.status == "succeeded"
    assert nb.metadata.jetnb.result == 2


@pytest.mark.parametrize("args,message", [
    (["-p", "nme", "Ada"], "unknown parameter 'nme' (did you mean 'name'?)"),
    (["-p", "times", "many"], "parameter 'times': expected int, got 'many'"),
])
def test_bad_parameters_exit_2_and_record_nothing(cli, project, args, message):
    result = cli("run", HELLO, *args)
    assert result.returncode == 2
    assert message in result.stderr
    assert runs_in(project) == []
    assert not (project / "runs").exists()


def test_parameters_file_and_overrides(cli, project):
    (project / "p.yaml").write_text("name: Grace\ntimes: 3\n")
    run = run_json(cli("run", HELLO, "-f", "p.yaml", "-p", "times", "1", "--json"))
    assert run["params"] == {"name": "Grace", "times": 1}
    (project / "bad.yaml").write_text("name: [Grace\n")
    result = cli("run", HELLO, "-f", "bad.yaml")
    assert result.returncode == 2 and "bad.yaml: invalid YAML" in result.stderr
    (project / "list.yaml").write_text("- a\n")
    assert "expected a mapping" in cli("run", HELLO, "-f", "list.yaml").stderr


def test_broken_notebook_is_refused_before_anything_runs(cli, make_nb, project):
    make_nb("broken.ipynb", ["%load_ext jetnb", "%%step a --retry 3\npass"])
    result = cli("run", "broken.ipynb")
    assert result.returncode == 2
    assert "broken.ipynb: cell 2: %%step a: unknown option --retry" in result.stderr
    (project / "garbage.ipynb").write_text("{not json")
    assert "invalid JSON" in cli("run", "garbage.ipynb").stderr
    assert runs_in(project) == []


def test_guard_that_raises_names_the_step(cli, make_nb):
    make_nb("guard.ipynb", ["%load_ext jetnb", "%%step check --when 'missing > 1'\npass"])
    run = json.loads(cli("run", "guard.ipynb", "--json").stdout)
    assert run["status"] == "failed"
    assert run["error"]["message"] == "step 'check': --when 'missing > 1' raised NameError: name 'missing' is not defined"


def test_result_must_be_json(cli, make_nb):
    make_nb("result.ipynb", ["%load_ext jetnb", "%%result\nobject()"])
    run = json.loads(cli("run", "result.ipynb", "--json").stdout)
    assert run["status"] == "failed" and run["error"]["type"] == "ResultError"
    assert "JSON-serialisable" in run["error"]["message"]


def test_rerun_show_and_runs(cli, project):
    first = run_json(cli("run", HELLO, "-p", "name", "Lin", "--json"))
    again = run_json(cli("rerun", first["id"][:17], "--json"))
    assert again["id"] != first["id"] and again["rerun_of"] == first["id"]
    assert again["trigger"] == "rerun" and again["params"] == {"name": "Lin"}
    listed = json.loads(cli("runs", "--workflow", "hello", "--json").stdout)
    assert [r["id"] for r in listed] == [again["id"], first["id"]]
    assert json.loads(cli("runs", "--status", "failed", "--json").stdout) == []
    table = cli("runs").stdout
    assert table.splitlines()[0].split()[:3] == ["RUN", "WORKFLOW", "STATUS"]
    shown = cli("show", first["id"])
    assert "✓ greet" in shown.stdout and '{"name": "Lin"}' in shown.stdout
    assert cli("show", "nope").returncode == 2


def test_listing_runs_does_not_import_papermill(cli, project):
    cli("run", HELLO, "-q")
    for args in (["runs"], ["show", runs_in(project)[0]["id"]]):
        result = subprocess.run([sys.executable, "-X", "importtime", "-m", "jetnb", *args], cwd=project,
                                capture_output=True, text=True, timeout=60)
        assert result.returncode == 0
        imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if "|" in line}
        assert "papermill" not in imported and "nbformat" not in imported


def test_store_location_from_flag_and_environment(cli, project):
    cli("run", HELLO, "-q", "--store", "elsewhere.db")
    assert (project / "elsewhere.db").exists() and not (project / ".jetnb").exists()
    listed = cli("runs", "--json", env={"JETNB_STORE": str(project / "elsewhere.db")})
    assert len(json.loads(listed.stdout)) == 1


def test_killed_run_leaves_a_readable_partial_log_and_is_marked_interrupted(make_nb, project):
    make_nb("slow.ipynb", ["%load_ext jetnb", '%%step first\nprint("first done")',
                           "%%step wait\nimport time\ntime.sleep(60)"])
    proc = subprocess.Popen([sys.executable, "-m", "jetnb", "run", "slow.ipynb"], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    log = None
    try:
        while time.monotonic() < deadline:
            logs = list((project / "runs" / "slow").glob("*.ipynb")) if (project / "runs").exists() else []
            if logs and '"step": "wait"' in logs[0].read_text():
                log = logs[0]
                break
            time.sleep(0.1)
        assert log is not None, "the run never reached its second step"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    nb = nbformat.read(log, as_version=4)
    nbformat.validate(nb)
    first = next(c for c in nb.cells if c.source.startswith("%%step first"))
    assert first.metadata.jetnb.status == "succeeded"
    assert any("first done" in o.get("text", "") for o in first.outputs)
    shown = json.loads(subprocess.run([sys.executable, "-m", "jetnb", "runs", "--json"], cwd=project,
                                      capture_output=True, text=True, timeout=60).stdout)
    assert shown[0]["status"] == "interrupted"


def test_new_creates_a_runnable_workflow_from_each_template(cli, project):
    for template in ("blank", "branching"):
        created = cli("new", f"my-{template}", "--template", template)
        assert created.returncode == 0, created.stderr
        path = project / f"my-{template}.ipynb"
        assert cli("check", str(path)).returncode == 0
        run = run_json(cli("run", str(path), "--json", "-q"))
        assert run["status"] == "succeeded" and run["workflow"] == f"my-{template}"
    assert "already exists" in cli("new", "my-blank").stderr
    assert "unknown template 'fancy'" in cli("new", "x", "--template", "fancy").stderr


def _started_in_its_loop(pub) -> None:
    """Start an ``IOPubThread`` and wait until it runs its main loop. Its thread first runs the loop briefly
    (``run_sync``) to start a clean-up task; a stop queued before that ends is spent there and the main loop then
    runs forever, so a test that stops the loop must wait for the main one."""
    in_loop = threading.Event()
    start = pub.io_loop.start

    def start_then_tell() -> None:
        if pub._event_pipe_gc_task is not None:  # set by the brief run: this is the main loop
            pub.io_loop.asyncio_loop.call_soon(in_loop.set)
        start()

    pub.io_loop.start = start_then_tell
    pub.start()
    assert in_loop.wait(10), "the I/O thread never reached its main loop"


def _term_unless_alive(context, pub) -> None:
    """End a test's ZMQ context, unless a failed test left the I/O thread running (``term`` would wait forever)."""
    if not pub.thread.is_alive():
        context.term()


def test_a_schedule_that_loses_the_race_with_the_io_threads_close_runs_at_once():
    """At a kernel's shutdown ipykernel's main thread stops the I/O thread and closes its wake-up pipes while the
    control thread, which saw the thread alive a moment before, flushes stdout through its pipe: "Socket operation
    on non-socket", a traceback in the server's log. A real ``IOPubThread`` on a real socket, that interleaving made
    certain."""
    import zmq
    from ipykernel.iostream import IOPubThread

    from jetnb.runtime.headless_io import tolerate_closing_iopub

    context = zmq.Context()
    pub = IOPubThread(context.socket(zmq.PUB))
    try:
        pub.start()
        tolerate_closing_iopub(pub)
        tolerate_closing_iopub(pub)  # once per kernel: a second call changes nothing
        woken = threading.Event()
        pub.schedule(woken.set)  # this thread's wake-up pipe, through the running I/O thread
        assert woken.wait(10)
        pub.stop()  # the main thread's shutdown: the I/O thread joined, every wake-up pipe closed
        pub.thread.is_alive = lambda: True  # what the control thread saw a moment before
        ran: list[str] = []
        pub.schedule(lambda: ran.append("flush"))
        assert ran == ["flush"]
    finally:
        vars(pub.thread).pop("is_alive", None)
        atexit.unregister(pub.stop)  # stopped already
        if pub._event_pipe_gc_task is not None:  # ipykernel's stop cancels it with the loop gone: no "destroyed" line
            pub._event_pipe_gc_task._log_destroy_pending = False
        pub.close()
        _term_unless_alive(context, pub)


@pytest.mark.parametrize("noticed", [True, False], ids=["zmq-saw-the-closed-end", "zmq-not-yet"])
def test_a_schedule_after_the_io_thread_stopped_but_before_its_pipes_close_runs_at_once(noticed):
    """The other half of that race: the main thread has stopped the I/O thread (which closed its end of the wake-up
    pipes) but not yet closed the pipes themselves. ipykernel's wake-up then blocks forever, the main thread waits
    forever to join the control thread, and the kernel never exits (seen as a forked kernel killed after the
    manager's grace period). A real ``IOPubThread``, stopped half-way as ``IOPubThread.stop`` does. Whether ZMQ has
    noticed the closed end yet (the wake-up cannot go) or not (it goes, to nobody), the callback runs."""
    import zmq
    from ipykernel.iostream import IOPubThread

    from jetnb.runtime.headless_io import tolerate_closing_iopub

    context = zmq.Context()
    pub = IOPubThread(context.socket(zmq.PUB))
    try:
        _started_in_its_loop(pub)
        tolerate_closing_iopub(pub)
        woken, stopped = threading.Event(), threading.Event()
        ran: list[str] = []

        def control_thread() -> None:
            pub.schedule(woken.set)  # its wake-up pipe, connected to the running I/O thread ("busy")
            if stopped.wait(10):
                if noticed:
                    pub._event_pipe.getsockopt(zmq.EVENTS)  # ZMQ notices the closed peer (usually within ~1 ms)
                pub.schedule(lambda: ran.append("idle"))  # no pipe left: ipykernel's send blocks here forever

        control = threading.Thread(target=control_thread, daemon=True)
        control.start()
        assert woken.wait(10)
        pub.io_loop.add_callback(pub.io_loop.stop)  # IOPubThread.stop's first half: the thread ends, closing its end
        pub.thread.join(10)  # of every pipe (not yet marked stopped, so it cancels its own clean-up task on its way)
        pub._stopped = True
        assert not pub.thread.is_alive()
        seen = iter([True])  # what the control thread saw a moment before; then the truth
        pub.thread.is_alive = lambda: next(seen, False)
        stopped.set()
        control.join(10)
        assert not control.is_alive(), "the wake-up blocked: the kernel would never exit"
        assert ran == ["idle"]
    finally:
        vars(pub.thread).pop("is_alive", None)
        atexit.unregister(pub.stop)
        for pipe in pub._event_pipes.values():
            pipe.close(linger=0)
        pub.close()
        _term_unless_alive(context, pub)


def test_what_is_still_queued_when_the_io_thread_ends_runs_when_it_is_stopped():
    """A wake-up that got through just as the I/O thread ended (it saw the thread alive, ZMQ took the message) is
    never handled by that thread: ``stop`` runs what is still queued once the thread is joined, before the kernel
    closes its sockets, so a last flush or "idle" is not lost."""
    import zmq
    from ipykernel.iostream import IOPubThread

    from jetnb.runtime.headless_io import tolerate_closing_iopub

    context = zmq.Context()
    pub = IOPubThread(context.socket(zmq.PUB))
    try:
        _started_in_its_loop(pub)
        tolerate_closing_iopub(pub)
        pub.io_loop.add_callback(pub.io_loop.stop)  # the thread ends with the queue below not yet handled
        pub.thread.join(10)
        pub._stopped = True
        assert not pub.thread.is_alive()
        ran: list[str] = []
        pub._events.extend([lambda: ran.append("flush"), lambda: ran.append("idle")])  # queued, woken too late
        pub.stop()
        assert ran == ["flush", "idle"] and not pub._events
        pub.stop()  # atexit's call: nothing left, nothing run twice
        assert ran == ["flush", "idle"]
    finally:
        atexit.unregister(pub.stop)
        for pipe in pub._event_pipes.values():
            pipe.close(linger=0)
        pub.close()
        _term_unless_alive(context, pub)


def test_a_runs_kernel_is_told_to_tolerate_the_race(cli, make_nb):
    path = make_nb("told.ipynb", ["%load_ext jetnb", "%%workflow\nname: told",
                                  "%%result\nimport sys\n{'told': sys.stdout.pub_thread._jetnb_tolerant}"])
    result = cli("run", str(path), "--json")
    assert result.returncode == 0, result.stderr
    assert run_json(result)["result"] == {"told": True}


def test_a_runs_kernel_is_headless_on_every_backend(cli, make_nb):
    """A run's kernel keeps no IPython SQLite history (a thrown-away kernel would write every cell to the
    user's history file) and skips ipykernel's sleep before each reply, whichever way it was started."""
    path = make_nb("headless.ipynb", ["%load_ext jetnb", "%%workflow\nname: headless",
                                      "%%result\nip = get_ipython()\n"
                                      "{'history': ip.history_manager.enabled, 'sleep': ip.kernel._execute_sleep}"])
    for backend in ("local", "forked", "pool"):
        result = cli("run", str(path), "--json", "-q", "--backend", backend)
        assert result.returncode == 0, result.stderr
        assert run_json(result)["result"] == {"history": False, "sleep": 0}, backend


def test_a_steps_prints_displays_and_stderr_keep_their_order_in_the_run_log(cli, make_nb, project):
    """A run's kernel sends pending output ahead of a display without waiting for its I/O thread: the order in the
    run log is still the order the step wrote in (and what a loop prints comes in one piece, not lost)."""
    path = make_nb("order.ipynb", [
        "%load_ext jetnb",
        "%%workflow\nname: order",
        "%%step mixed\nimport sys\nfrom IPython.display import display\n"
        "for n in range(3):\n"
        "    print(f'out {n}')\n"
        "    print(f'err {n}', file=sys.stderr)\n"
        "    display({'text/plain': f'shown {n}'}, raw=True)\n"
        "print('\\n'.join(f'line {i}' for i in range(2000)))\n"
        "display({'text/plain': 'last'}, raw=True)",
    ])
    result = cli("run", str(path))
    assert result.returncode == 0, result.stderr
    log_line = next(line for line in result.stdout.splitlines() if line.startswith("run log: "))
    cell = nbformat.read(project / log_line.removeprefix("run log: "), as_version=4).cells[-1]
    seen = [(o.output_type, o.get("name"), o.get("text") or o.get("data", {}).get("text/plain")) for o in cell.outputs]
    assert seen[0][0] == "display_data" and "step mixed" in seen[0][2]  # the step's line comes first
    expected = []
    for n in range(3):
        expected += [("stream", "stdout", f"out {n}\n"), ("stream", "stderr", f"err {n}\n"),
                     ("display_data", None, f"shown {n}")]
    assert seen[1:10] == expected
    assert seen[10][:2] == ("stream", "stdout") and seen[10][2] == "".join(f"line {i}\n" for i in range(2000))
    assert seen[11:] == [("display_data", None, "last")]


def test_a_step_that_forks_workers_which_print_still_ends(cli, make_nb):
    """Output written in a forked child goes through ipykernel's pipe to the parent; the run kernel's one-at-a-time
    flush starts afresh in each child (a lock held at the fork would never be released there)."""
    path = make_nb("forks.ipynb", [
        "%load_ext jetnb",
        "%%workflow\nname: forks",
        "%%step fan_out\nimport multiprocessing\n"
        "with multiprocessing.get_context('fork').Pool(2) as pool:\n"
        "    squares = pool.starmap(pow, [(n, 2) for n in range(6)])\n"
        "    pool.map(print, ['from a child'] * 4)\n"
        "print('parent done', squares)",
        "%%result\n{'squares': squares}",
    ])
    result = cli("run", str(path), "--json", timeout=120)
    assert result.returncode == 0, result.stderr
    assert run_json(result)["result"] == {"squares": [0, 1, 4, 9, 16, 25]}
