"""Forked kernels: a new process per run from the warm zygote, real kernels, no mocks.

Every wait below is bounded (``wait_until``) but nothing asserts a duration:
a loaded CI machine may be slow, never wrong.
"""

from __future__ import annotations

import inspect
import json
import logging
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import psutil
import pytest
from jupyter_client import KernelManager
from jupyter_core.utils import ensure_event_loop, run_sync

from conftest import REPO
from jetnb import run as run_workflow
from jetnb.executor import RunRequest
from jetnb.executor.cancel import CancelSignal
from jetnb.executor.forked import ForkedBackend
from jetnb.executor.forked_kernel import ForkedKernelManager
from jetnb.protocol import Event, RunContext, RunOutcome

LONG_CELL = "import time\nprint('started', flush=True)\nfor _ in range(1200):\n    time.sleep(0.05)"


def wait_until(condition: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    """Poll ``condition`` until it is true; a hang becomes a failure that says what never happened."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


@pytest.fixture(scope="module")
def backend():
    made = ForkedBackend()
    yield made
    made.close()


def run(project: Path, path: Path, backend_name: str = "forked", **params: Any) -> dict[str, Any]:
    return run_workflow(path, params, store=project / "jetnb.db", runs_dir=project / "runs", trigger="test",
                        backend=backend_name)


@pytest.fixture
def use(backend, monkeypatch):
    """Runs through ``jetnb.run`` with backend="forked" reach the module's backend."""
    from jetnb import executor

    monkeypatch.setitem(executor._instances, "forked", backend)
    return backend


def start_kernel(backend: ForkedBackend, cwd: Path, **kw: Any) -> tuple[ForkedKernelManager, Any]:
    km = ForkedKernelManager(backend.zygote, kernel_name="python3")
    km.start_kernel(cwd=str(cwd), **kw)
    kc = km.client()
    kc.start_channels()
    run_sync(kc.wait_for_ready)(timeout=60)
    return km, kc


def run_code(kc: Any, code: str) -> tuple[dict[str, Any], str]:
    """Execute ``code``; its reply content and what it printed."""
    printed: list[str] = []

    def hook(msg: dict[str, Any]) -> None:
        if msg["msg_type"] == "stream":
            printed.append(msg["content"]["text"])

    reply = kc.execute_interactive(code, output_hook=hook, timeout=60)
    if inspect.isawaitable(reply):  # forked kernels' clients are async, as nbclient's are
        reply = ensure_event_loop().run_until_complete(reply)
    return reply["content"], "".join(printed)


def kernel_value(kc: Any, expression: str) -> Any:
    content, printed = run_code(kc, f"import json\nprint(json.dumps({expression}))")
    assert content["status"] == "ok", content
    return json.loads(printed)


def wait_iopub(kc: Any, msg_id: str, wanted: Callable[[dict[str, Any]], bool], what: str) -> None:
    """Read IOPub until a message of request ``msg_id`` is ``wanted``."""
    async def read() -> None:
        for _ in range(1000):
            msg = await kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") == msg_id and wanted(msg):
                return
        raise AssertionError(f"never happened: {what}")

    run_sync(read)()


def wait_started(kc: Any, msg_id: str) -> None:
    """The long cell is inside its loop once it has said so."""
    wait_iopub(kc, msg_id, lambda msg: "started" in msg["content"].get("text", ""), "the long cell started")


def stop(km: Any, kc: Any) -> None:
    kc.stop_channels()
    if km.has_kernel:
        km.shutdown_kernel(now=True)


PROBE = ("%%result\n"
         "import os, sys, random\n"
         "{'pid': os.getpid(), 'ppid': os.getppid(), 'cwd': os.getcwd(), 'seen_before': seen,\n"
         " 'random': random.random(), 'numpy': __import__('numpy').random.random()}")


def probe_notebook(make_nb: Callable[..., Path], name: str) -> Path:
    return make_nb(name, ["%load_ext jetnb", ("params", "mark: str = 'a'"),
                          "%%step remember\nseen = 'leak' in globals()\nleak = mark", PROBE])


def test_each_run_gets_a_fresh_forked_kernel_in_the_notebook_folder(use, make_nb, project):
    (project / "flows").mkdir()
    path = probe_notebook(make_nb, "flows/probe.ipynb")
    results = []
    for mark in ("first", "second"):
        done = run(project, path, mark=mark)
        assert done["status"] == "succeeded", done["error"]
        results.append(done["result"])
    first, second = results
    assert not first["seen_before"] and not second["seen_before"]  # a variable of run 1 is not in run 2
    assert first["pid"] != second["pid"]
    assert first["ppid"] == second["ppid"] == use.zygote.pid  # forked, not started the ordinary way
    assert first["cwd"] == second["cwd"] == str((project / "flows").resolve())
    assert first["random"] != second["random"] and first["numpy"] != second["numpy"]  # reseeded after fork


def test_full_workflows_run_on_forked_kernels(use, project):
    for name in ("hello.ipynb", "refund_order.ipynb"):
        shutil.copy(REPO / "notebooks" / name, project / name)  # refund_order writes its shop.db beside itself
    hello = run(project, project / "hello.ipynb", name="Fork")
    assert hello["status"] == "succeeded", hello["error"]
    assert hello["result"] == {"greeting": "Hello, Fork!"}
    assert [s["status"] for s in hello["steps"]] == ["succeeded", "succeeded"]
    refund = run(project, project / "refund_order.ipynb")
    assert refund["status"] == "succeeded", refund["error"]
    assert refund["result"]["branch"] == "coupon" and refund["result"]["order_id"] == 1001
    assert (project / "shop.db").exists()


LEFT_OPEN = ("import atexit, sys, tempfile, types\n"
             "module = sys.modules['left_open'] = types.ModuleType('left_open')\n"
             "module.file = open('in_a_module.txt', 'w')\n"
             "module.file.write('module')\n"
             "folder = tempfile.TemporaryDirectory(dir='.')\n"
             "atexit.register(lambda: open('at_exit.txt', 'w').write('handler'))\n"
             "print(folder.name)")


def test_a_forked_kernel_exits_without_teardown_yet_keeps_what_exiting_keeps(use, make_nb, project):
    """Forked kernels skip Python's teardown (decisions.md): files left open are still written, exit handlers
    run, temporary folders go."""
    path = make_nb("left_open.ipynb", ["%load_ext jetnb", LEFT_OPEN])
    done = run(project, path)
    assert done["status"] == "succeeded", done["error"]
    expected = {"in_a_module.txt": "module", "at_exit.txt": "handler"}
    wait_until(lambda: {name: (project / name).read_text() for name in expected if (project / name).exists()}
               == expected, "every file written as the kernel exited")
    assert not [p for p in project.iterdir() if p.is_dir() and p.name.startswith("tmp")]  # the folder removed


def test_the_kernel_sees_the_environment_given_for_the_run(backend, project):
    given = {key: os.environ[key] for key in ("PATH", "HOME", "IPYTHONDIR", "JUPYTER_DATA_DIR",
                                              "JUPYTER_RUNTIME_DIR")}
    given["JETNB_RUN_SECRET"] = "for this run only"
    zygote_env = psutil.Process(backend.zygote.pid).environ()
    assert "JUPYTER_CONFIG_DIR" in zygote_env  # the zygote has it; the run's env leaves it out
    km, kc = start_kernel(backend, project, env=given)
    try:
        forked = kernel_value(kc, "dict(__import__('os').environ)")
    finally:
        stop(km, kc)
    ordinary_km = KernelManager(kernel_name="python3")
    ordinary_km.start_kernel(cwd=str(project), env=given)
    ordinary_kc = ordinary_km.client()
    ordinary_kc.start_channels()
    try:
        ordinary_kc.wait_for_ready(timeout=60)
        ordinary = kernel_value(ordinary_kc, "dict(__import__('os').environ)")
    finally:
        stop(ordinary_km, ordinary_kc)
    assert {key: forked[key] for key in given} == given
    assert "JUPYTER_CONFIG_DIR" not in forked
    assert set(forked) - set(given) == set(ordinary) - set(given)  # what the kernel adds itself, no more


def test_the_zygote_starts_with_configuration_only(monkeypatch):
    """Forked kernels show the zygote's starting environment in /proc/self/environ, and the zygote starts before
    any run's secrets are known: it gets no variable that is not configuration, nor one named like a credential."""
    from jetnb.executor.zygote_process import ZygoteProcess

    monkeypatch.setenv("MY_SECRET_TOKEN", "declared-by-some-workflow")
    monkeypatch.setenv("SHOP_DB_PASS", "not-configuration")
    monkeypatch.setenv("JUPYTER_TOKEN", "a-credential-by-its-name")
    monkeypatch.setenv("LC_MESSAGES", "C")
    zygote = ZygoteProcess(imports=[])
    try:
        started = psutil.Process(zygote.pid).environ()
    finally:
        zygote.close(now=True)
    assert not {"MY_SECRET_TOKEN", "SHOP_DB_PASS", "JUPYTER_TOKEN"} & set(started)
    assert started["PATH"] == os.environ["PATH"] and started["LC_MESSAGES"] == "C"
    assert started["JETNB_ZYGOTE_IMPORTS"] == ""


def test_a_kernel_that_dies_mid_run_fails_that_run_and_the_next_run_works(use, make_nb, project):
    dying = make_nb("dying.ipynb", ["%load_ext jetnb", "%%step crash\nimport os\nos._exit(3)"])
    zygote = use.zygote.pid
    died = run(project, dying)
    assert died["status"] == "failed"
    assert died["error"]["type"] == "DeadKernelError", died["error"]
    after = run(project, probe_notebook(make_nb, "after.ipynb"))
    assert after["status"] == "succeeded", after["error"]
    assert after["result"]["ppid"] == zygote == use.zygote.pid  # the zygote survived its child's crash


def test_interrupt_delivers_keyboard_interrupt_in_the_running_cell(backend, project):
    km, kc = start_kernel(backend, project)
    try:
        msg_id = kc.execute(LONG_CELL)
        wait_started(kc, msg_id)
        km.interrupt_kernel()
        reply = run_sync(kc.get_shell_msg)(timeout=60)
        assert reply["parent_header"]["msg_id"] == msg_id
        assert reply["content"]["status"] == "error" and reply["content"]["ename"] == "KeyboardInterrupt"
        assert km.is_alive()
        # once idle, the kernel has stopped aborting what was queued behind the error (ipykernel's stop_on_error)
        wait_iopub(kc, msg_id, lambda msg: msg["content"].get("execution_state") == "idle", "idle after interrupt")
        assert kernel_value(kc, "1 + 1") == 2  # the kernel goes on after the interrupt
    finally:
        stop(km, kc)


def test_shutdown_now_kills_a_busy_kernel(backend, project):
    km, kc = start_kernel(backend, project)
    pid = km.provisioner.child.pid
    msg_id = kc.execute(LONG_CELL)
    wait_started(kc, msg_id)
    km.shutdown_kernel(now=True)
    kc.stop_channels()
    assert not km.is_alive() and not km.has_kernel
    wait_until(lambda: not psutil.pid_exists(pid), f"kernel {pid} gone (killed and reaped by the zygote)")


def test_restart_is_refused_and_a_missing_folder_fails_the_start(backend, project):
    km, kc = start_kernel(backend, project)
    try:
        with pytest.raises(RuntimeError, match="never restarted"):
            km.restart_kernel()
    finally:
        stop(km, kc)
    broken = ForkedKernelManager(backend.zygote, kernel_name="python3")
    with pytest.raises(RuntimeError, match="could not start in"):
        broken.start_kernel(cwd=str(project / "missing"))
    assert psutil.Process(backend.zygote.pid).is_running()


def test_the_zygote_is_single_threaded_and_kernels_inherit_none_of_its_sockets(backend, project):
    km, kc = start_kernel(backend, project)
    try:
        zygote = backend.zygote.pid
        assert len(os.listdir(f"/proc/{zygote}/task")) == 1
        zygote_sockets = {os.readlink(f"/proc/{zygote}/fd/{fd}") for fd in os.listdir(f"/proc/{zygote}/fd")
                          if os.readlink(f"/proc/{zygote}/fd/{fd}").startswith("socket:")}
        kernel = km.provisioner.child.pid
        kernel_fds = {os.readlink(f"/proc/{kernel}/fd/{fd}") for fd in os.listdir(f"/proc/{kernel}/fd")}
        assert zygote_sockets and not zygote_sockets & kernel_fds
        assert os.getpgid(kernel) == kernel and os.getsid(kernel) == kernel != os.getsid(zygote)
    finally:
        stop(km, kc)


def test_no_zombies_after_runs(use, make_nb, project):
    path = probe_notebook(make_nb, "zombies.ipynb")
    pids = [run(project, path)["result"]["pid"] for _ in range(2)]
    for pid in pids:  # shut down in the background after each run, then reaped by the zygote
        wait_until(lambda pid=pid: not psutil.pid_exists(pid), f"kernel {pid} reaped")
    zombies = [c.pid for c in psutil.Process(use.zygote.pid).children() if c.status() == psutil.STATUS_ZOMBIE]
    assert zombies == []


def test_the_zygote_is_restarted_after_being_killed_with_one_log_line(make_nb, project, monkeypatch, caplog):
    own = ForkedBackend()
    from jetnb import executor

    monkeypatch.setitem(executor._instances, "forked", own)
    path = probe_notebook(make_nb, "restart.ipynb")
    try:
        first = run(project, path)
        assert first["status"] == "succeeded", first["error"]
        old = own.zygote.pid
        os.kill(old, signal.SIGKILL)
        wait_until(lambda: psutil.Process(old).status() == psutil.STATUS_ZOMBIE, "the zygote dead")
        with caplog.at_level(logging.WARNING, logger="jetnb"):
            second = run(project, path)
            third = run(project, path)
    finally:
        own.close()
    assert second["status"] == third["status"] == "succeeded", (second["error"], third["error"])
    assert second["result"]["ppid"] == third["result"]["ppid"] != old
    restarts = [r.getMessage() for r in caplog.records if "starting a new one" in r.getMessage()]
    assert len(restarts) == 1 and str(old) in restarts[0]


def test_another_kernel_name_falls_back_to_an_ordinary_kernel_with_one_log_line(use, make_nb, project, caplog):
    spec = Path(os.environ["JUPYTER_DATA_DIR"]) / "kernels" / "other-python"
    spec.mkdir(parents=True, exist_ok=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel", "-f", "{connection_file}"],
        "display_name": "Other Python", "language": "python"}))
    path = probe_notebook(make_nb, "other.ipynb")
    nb = json.loads(path.read_text())
    nb["metadata"]["kernelspec"] = {"name": "other-python", "display_name": "Other Python", "language": "python"}
    path.write_text(json.dumps(nb))
    with caplog.at_level(logging.WARNING, logger="jetnb"):
        runs = [run(project, path) for _ in range(2)]
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"], [r["error"] for r in runs]
    assert all(r["result"]["ppid"] == os.getpid() for r in runs)  # started by this process, not forked
    said = [r.getMessage() for r in caplog.records if r.name == "jetnb" and "ordinary kernel" in r.getMessage()]
    assert len(said) == 1 and "ipykernel" in said[0]


def test_close_leaves_no_process_behind(make_nb, project):
    own = ForkedBackend()
    km, kc = start_kernel(own, project)
    msg_id = kc.execute(LONG_CELL)  # a run cut off by the server's shutdown
    wait_started(kc, msg_id)
    kernel, zygote = km.provisioner.child.pid, own.zygote.pid
    own.close()
    kc.stop_channels()
    assert not psutil.pid_exists(zygote)
    wait_until(lambda: not psutil.pid_exists(kernel), f"kernel {kernel} gone after close")
    assert not km.is_alive()
    assert [c.pid for c in psutil.Process().children(recursive=True) if c.pid in (kernel, zygote)] == []


def test_chosen_imports_are_loaded_in_the_zygote_and_a_missing_one_is_said(project, monkeypatch, caplog):
    monkeypatch.setenv("JETNB_ZYGOTE_IMPORTS", "colorsys, no_such_module_here")
    own = ForkedBackend()
    try:
        with caplog.at_level(logging.WARNING, logger="jetnb"):
            km, kc = start_kernel(own, project)
        try:
            assert kernel_value(kc, "'colorsys' in __import__('sys').modules")  # there before any cell imported it
        finally:
            stop(km, kc)
    finally:
        own.close()
    assert own.zygote.info["imported"] == ["colorsys"]
    assert [r for r in caplog.records if "no_such_module_here" in r.getMessage()]


def test_a_zygote_whose_imports_leave_a_thread_is_not_used(make_nb, project, monkeypatch, caplog):
    (project / "lib").mkdir()
    (project / "lib" / "threads_at_import.py").write_text(
        "import threading, time\nthreading.Thread(target=time.sleep, args=(3600,), daemon=True).start()\n")
    monkeypatch.setenv("PYTHONPATH", str(project / "lib"))
    monkeypatch.setenv("JETNB_ZYGOTE_IMPORTS", "threads_at_import")
    own = ForkedBackend()
    from jetnb import executor

    monkeypatch.setitem(executor._instances, "forked", own)
    path = probe_notebook(make_nb, "threads.ipynb")
    try:
        with caplog.at_level(logging.WARNING, logger="jetnb"):
            runs = [run(project, path) for _ in range(2)]
    finally:
        own.close()
    assert [r["status"] for r in runs] == ["succeeded", "succeeded"], [r["error"] for r in runs]
    assert all(r["result"]["ppid"] == os.getpid() for r in runs)  # ordinary kernels
    said = [r.getMessage() for r in caplog.records if "ordinary kernel" in r.getMessage()]
    assert len(said) == 1 and "threads_at_import" in said[0] and "threads" in said[0]


SETTLING_PROBE = """
import _thread, threading, time
from jetnb.executor import zygote
_thread.start_new_thread(time.sleep, (0.5,))  # a native thread (threading does not know it), ending soon
time.sleep(0.05)
print(zygote._thread_count(), threading.active_count())
zygote.settle()
print(zygote._thread_count(), zygote.fork_hazards())
zygote.SETTLING = 0.2
_thread.start_new_thread(time.sleep, (60,))  # one that stays
time.sleep(0.05)
zygote.settle()
print(zygote._thread_count(), zygote.fork_hazards())
"""


def test_settling_waits_a_bounded_while_for_native_threads_to_end():
    """numpy's OpenBLAS stops its threads in a fork handler; a joined thread can still be listed for a moment, which
    on a busy machine made a healthy zygote refuse to fork ("has 2 threads"). One that stays is still refused."""
    import subprocess

    done = subprocess.run([sys.executable, "-c", SETTLING_PROBE], capture_output=True, text=True, timeout=60,
                          cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["2 1", "1 []", "2 ['2 threads']"]


class Events:
    """The observer of a run started below the run service: keeps the events."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def event(self, event: Event) -> None:
        self.events.append(event)


def run_in_thread(backend: ForkedBackend, km: ForkedKernelManager, path: Path) -> tuple[threading.Thread, list[Any]]:
    """Execute ``path`` on ``km`` as the backend does, in a worker thread, as `jetnb serve` runs do."""
    request = RunRequest(run_id="cancel-test", notebook=json.loads(path.read_text()), notebook_path=str(path),
                         log_path=str(path.with_suffix(".log.ipynb")), params={}, kernel_name="python3",
                         cwd=str(path.parent), context=RunContext(run_id="cancel-test", headless=True))
    outcome: list[RunOutcome] = []
    worker = threading.Thread(target=lambda: outcome.append(backend._execute(request, Events(), CancelSignal(),
                                                                             km=km)), daemon=True)
    worker.start()
    return worker, outcome


@pytest.mark.parametrize("stop", ["interrupt", "kill"])
def test_cancel_interrupts_or_kills_the_running_cell_of_a_run(backend, make_nb, project, stop):
    """What the run's cancel does from another thread while the engine waits on the cell."""
    path = make_nb(f"{stop}.ipynb", ["%load_ext jetnb", "%%step wait\nimport time\nopen('started', 'w').close()\n"
                                     "for _ in range(1200):\n    time.sleep(0.05)"])
    km = ForkedKernelManager(backend.zygote, kernel_name="python3")
    worker, outcome = run_in_thread(backend, km, path)
    try:
        wait_until(lambda: (project / "started").exists(), "the long step started")
        pid = km.provisioner.child.pid
        if stop == "interrupt":
            km.interrupt_kernel()
        else:
            km.shutdown_kernel(now=True)
        worker.join(60)
        assert outcome, "the run did not end"
    finally:
        km.release()
    assert outcome[0].status == "failed"
    if stop == "interrupt":
        assert outcome[0].error["type"] == "KeyboardInterrupt", outcome[0].error
    else:
        assert outcome[0].error["type"] == "DeadKernelError"
        wait_until(lambda: not psutil.pid_exists(pid), f"kernel {pid} gone")


def test_concurrent_runs_each_get_their_own_forked_kernel(use, make_nb, project):
    path = probe_notebook(make_nb, "concurrent.ipynb")
    results: dict[str, dict[str, Any]] = {}
    raised: dict[str, str] = {}

    def run_as(mark: str) -> None:
        try:
            results[mark] = run(project, path, mark=mark)
        except Exception as exc:  # the assertion below says what it was
            raised[mark] = f"{type(exc).__name__}: {exc}"

    workers = [threading.Thread(target=run_as, args=(mark,)) for mark in ("left", "right")]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert not raised and sorted(results) == ["left", "right"], raised
    assert all(r["status"] == "succeeded" for r in results.values()), [r["error"] for r in results.values()]
    left, right = results["left"]["result"], results["right"]["result"]
    assert left["pid"] != right["pid"] and left["ppid"] == right["ppid"] == use.zygote.pid


def test_serve_runs_on_forked_kernels_and_leaves_no_process_at_shutdown(server):
    from servekit import wait_for

    srv = server(args=("--backend", "forked", "--grace", "1"))
    srv.workflow("greet", ["%load_ext jetnb", "%%workflow\nname: greet", ("params", "name: str = 'World'"),
                           "%%result\nimport os\n{'greeting': f'Hello, {name}!', 'ppid': os.getppid()}"])
    srv.workflow("long", ["%load_ext jetnb", "%%workflow\nname: long",
                          "%%step wait\nimport time\nopen('long-started', 'w').close()\n"
                          "for _ in range(1200):\n    time.sleep(0.05)"])
    srv.start()
    run_id = srv.api("POST", "/api/workflows/greet/runs", json={"params": {"name": "Ada"}}).json()["run_id"]
    done = wait_for(lambda: (run := srv.run(run_id))["status"] in ("succeeded", "failed") and run, "a forked run")
    assert done["status"] == "succeeded", done["error"]
    zygote = psutil.Process(done["result"]["ppid"])
    assert zygote.ppid() == srv.proc.pid  # the kernel was forked by the server's zygote
    srv.api("POST", "/api/workflows/long/runs", json={})
    wait_for(lambda: (srv.notebooks / "long-started").exists(), "the long run's step started")
    left = [zygote, *zygote.children(recursive=True)]
    assert len(left) >= 2  # the zygote and the long run's kernel
    assert srv.stop() == 0  # the long run is cut off after the grace period
    gone, alive = psutil.wait_procs(left, timeout=30)
    assert alive == []


def test_a_forked_kernels_command_line_becomes_the_configuration_traitlets_would_make():
    from ipykernel.kernelapp import IPKernelApp
    from traitlets import Bool, Float
    from traitlets.config import Configurable

    from jetnb.executor.kernel_app import ForkedKernelApp, simple_config

    class HistoryManager(Configurable):  # stand-ins of the configured classes: the same section names
        enabled = Bool(True).tag(config=True)

    class IPythonKernel(Configurable):
        _execute_sleep = Float(0.0005).tag(config=True)

    argv = ["-f", "/tmp/kernel-1.json", "--HistoryManager.enabled=False", "--IPythonKernel._execute_sleep=0",
            "--IPKernelApp.parent_handle=7"]
    fast, slow = ForkedKernelApp(), IPKernelApp()
    fast.parse_command_line(argv)
    IPKernelApp.parse_command_line(slow, argv)
    for app in (fast, slow):
        assert (app.connection_file, app.parent_handle) == ("/tmp/kernel-1.json", 7)
        assert HistoryManager(config=app.config).enabled is False
        assert IPythonKernel(config=app.config)._execute_sleep == 0.0
    assert simple_config([*argv, "--matplotlib=inline"]) is None  # anything else: traitlets reads it
    other = ForkedKernelApp()
    other.parse_command_line(["-f", "/tmp/kernel-2.json", "--matplotlib=inline"])
    assert other.connection_file == "/tmp/kernel-2.json" and other.matplotlib == "inline"


def test_run_kernels_bind_ports_below_the_ephemeral_range_and_give_them_back(backend, project):
    """Outgoing connections take their local port from the ephemeral range: a kernel port chosen there could be
    taken before the kernel binds it ("Address already in use", seen in CI). Forked and ordinary kernels alike."""
    from jupyter_client.connect import LocalPortCache

    from jetnb.executor.kernel_ports import quiet_range
    from jetnb.executor.run_kernel import new_manager

    quiet = quiet_range()
    assert quiet is not None and quiet.stop == int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    forked, kc = start_kernel(backend, project)
    ordinary = new_manager("python3")
    ordinary.start_kernel(cwd=str(project))
    try:
        for km in (forked, ordinary):
            ports = [km.shell_port, km.iopub_port, km.stdin_port, km.hb_port, km.control_port]
            assert len(set(ports)) == 5 and all(port in quiet for port in ports), ports
            assert set(ports) <= LocalPortCache.instance().currently_used_ports
        assert kernel_value(kc, "1 + 1") == 2
    finally:
        stop(forked, kc)
        ordinary.shutdown_kernel(now=True)
    held = LocalPortCache.instance().currently_used_ports
    assert not {forked.shell_port, ordinary.shell_port} & held  # returned with the kernel


def test_a_forked_kernel_that_cannot_bind_its_ports_ends_at_once(project, monkeypatch):
    """A port taken between the choice and the kernel's bind: the kernel says so in one line and exits, so the run
    fails now ("Kernel died before replying") instead of after a minute of waiting (ipykernel's exit handler
    waited forever on the sockets it had bound)."""
    import socket

    from jetnb.executor import run_kernel

    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    real = run_kernel.kernel_port
    chosen = iter([real("127.0.0.1"), taken.getsockname()[1]])  # IOPub's, bound after the shell's (as in CI)
    monkeypatch.setattr(run_kernel, "kernel_port", lambda ip: next(chosen, None) or real(ip))
    monkeypatch.setenv("JETNB_WARM_KERNELS", "0")  # no warm kernel to draw the taken port first
    own = ForkedBackend()
    km = ForkedKernelManager(own.zygote, kernel_name="python3")
    try:
        km.start_kernel(cwd=str(project))
        assert taken.getsockname()[1] in (km.shell_port, km.iopub_port, km.stdin_port, km.hb_port, km.control_port)
        wait_until(lambda: not km.is_alive(), "the kernel that could not bind ended")
        kc = km.client()
        kc.start_channels()
        with pytest.raises(RuntimeError, match="Kernel died before replying"):
            run_sync(kc.wait_for_ready)(timeout=60)
        kc.stop_channels()
    finally:
        taken.close()
        km.shutdown_kernel(now=True)
        own.close()
