"""The ``dask`` backend with a real ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, run logs on a
real S3 API (a moto server process), and a LocalCluster in this process with ``memory://`` for the quick case.

Nothing is mocked: runs execute in real kernels on the workers, the control
plane is the real CLI or ``jetnb serve``, and each wait is a bounded poll.
"""

from __future__ import annotations

import gc
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable

import pytest
import requests

from conftest import notebook, run_cli, run_json
from servekit import TOKEN

BIN = Path(sys.executable).parent
SECRET = "s3cr3t-dask-value-8121"
BUCKET = "jetnb-runs"


def wait_for(check: Callable[[], Any], what: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def s3_env(tmp_path_factory):
    """A moto S3 server process on 127.0.0.1 with a bucket; the environment that points boto3 and s3fs at it."""
    port = free_port()
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "wb")
    proc = subprocess.Popen([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return requests.get(url, timeout=5).status_code < 500
        except requests.RequestException:  # not listening yet, or still starting
            return False

    wait_for(up, "the moto server", 60)
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1",
           "AWS_ENDPOINT_URL": url, "FSSPEC_S3_ENDPOINT_URL": url}
    import boto3

    boto3.client("s3", endpoint_url=url, region_name="us-east-1", aws_access_key_id="testing",
                 aws_secret_access_key="testing").create_bucket(Bucket=BUCKET)
    yield env
    proc.terminate()
    proc.wait(30)
    log.close()


def s3_object(env: dict[str, str], key: str) -> bytes:
    import boto3

    client = boto3.client("s3", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
    return client.get_object(Bucket=BUCKET, Key=key)["Body"].read()


class Cluster:
    """``dask scheduler`` and named ``dask worker`` processes (one thread each, no nanny: kill -9 kills the worker)."""

    def __init__(self, folder: Path, env: dict[str, str]):
        self.folder, self.env = folder, {**os.environ, **env}
        scheduler_file = folder / "scheduler.json"
        self.log = open(folder / "cluster.log", "ab")
        self.scheduler = subprocess.Popen(
            [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--dashboard-address", "127.0.0.1:0",  # its HTTP server (health, metrics) stays on loopback, off 8787
             "--scheduler-file", str(scheduler_file)], env=self.env, stdout=self.log, stderr=self.log)
        wait_for(lambda: scheduler_file.exists() and scheduler_file.read_text().strip(), "the scheduler", 60)
        self.address = json.loads(scheduler_file.read_text())["address"]
        self.workers: dict[str, subprocess.Popen] = {}
        from distributed import Client

        self.client = Client(self.address, timeout=30, set_as_default=False)
        for name in ("w1", "w2"):
            self.start_worker(name)

    def start_worker(self, name: str) -> None:
        self.workers[name] = subprocess.Popen(
            [str(BIN / "dask"), "worker", self.address, "--name", name, "--nthreads", "1", "--no-nanny",
             "--no-dashboard", "--dashboard-address", "127.0.0.1:0", "--host", "127.0.0.1",
             "--local-directory", str(self.folder / name)],
            env=self.env, stdout=self.log, stderr=self.log, cwd=self.folder)
        wait_for(lambda: name in self.names(), f"worker {name}", 60)

    def names(self) -> dict[str, str]:
        """Worker name -> address, as the scheduler knows them now."""
        info = self.client.run_on_scheduler(lambda dask_scheduler: {
            ws.name: ws.address for ws in dask_scheduler.workers.values()})
        return {str(k): v for k, v in info.items()}

    def ensure_workers(self) -> None:
        for name, proc in list(self.workers.items()):
            if proc.poll() is not None:
                self.start_worker(name)

    def running_on(self) -> str | None:
        """The name of the worker processing a jetnb task now."""
        by_address = {v: k for k, v in self.names().items()}
        for address, keys in self.client.processing().items():
            if any(str(k).startswith("jetnb-") for k in keys):
                return by_address.get(address)
        return None

    def close(self) -> None:
        self.client.close()
        gc.collect()
        for proc in [*self.workers.values(), self.scheduler]:
            if proc.poll() is None:
                proc.terminate()
        for proc in [*self.workers.values(), self.scheduler]:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.log.close()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, s3_env):
    made = Cluster(tmp_path_factory.mktemp("cluster"), s3_env)
    yield made
    made.close()


@pytest.fixture
def dask_env(cluster, s3_env):
    cluster.ensure_workers()
    return {**s3_env, "JETNB_DASK_SCHEDULER": cluster.address}


BLOCKED = [
    "%load_ext jetnb",
    "%%workflow\nname: blocked\nsecrets: [API_TOKEN]",
    ("params", 'gate_file: str = "go"'),
    "%%step first\nimport jetnb\ntoken = jetnb.secret('API_TOKEN')\nprint('the token is', token)",
    "%%step wait\nimport os, time\nfor _ in range(1200):\n    if os.path.exists(gate_file):\n        break\n"
    "    time.sleep(0.1)",
    "%%result\n{'token_len': len(token)}",
]


def start_run(project: Path, env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "jetnb", "run", *args, "--backend", "dask", "--json", "-q"],
                            cwd=project, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def show(project: Path, run_id: str | None = None) -> dict[str, Any] | None:
    if run_id is None:
        listed = json.loads(run_cli("runs", "--json", cwd=project).stdout or "[]")
        if not listed:
            return None
        run_id = listed[0]["id"]
    return json.loads(run_cli("show", run_id, "--json", cwd=project).stdout)


def step_status(run: dict[str, Any] | None, name: str) -> str | None:
    return next((s["status"] for s in (run or {}).get("steps", []) if s["name"] == name), None)


def task_state_text(cluster: Cluster) -> bytes:
    """Everything the scheduler holds about tasks and variables, pickled: what its dashboard could show."""
    return cluster.client.run_on_scheduler(lambda dask_scheduler: b"".join(
        __import__("pickle").dumps(ts.run_spec) + repr(ts.run_spec).encode() for ts in dask_scheduler.tasks.values())
        + repr(dask_scheduler.extensions["variables"].variables).encode())


@pytest.mark.slow
def test_run_on_a_worker_logs_to_s3_step_by_step_without_the_secret_in_the_task(project, dask_env, cluster, s3_env):
    notebook(BLOCKED, project / "blocked.ipynb")
    gate = project / "gate"
    proc = start_run(project, {**dask_env, "API_TOKEN": SECRET}, "blocked.ipynb", "-p", "gate_file", str(gate),
                     "--runs-dir", f"s3://{BUCKET}/runs")
    try:
        live = wait_for(lambda: (run := show(project)) and step_status(run, "wait") == "running" and run,
                        "the waiting step's event, live")  # its start comes a moment after the first one's end
        assert live["status"] == "running" and step_status(live, "first") == "succeeded"
        assert cluster.running_on() in ("w1", "w2")
        held = task_state_text(cluster)
        assert b"blocked" in held  # the task is there, with its request...
        assert SECRET.encode() not in held  # ...but not the secret's value
    finally:
        gate.write_text("go")
        out, err = proc.communicate(timeout=120)
    run = json.loads(out)
    assert run["status"] == "succeeded", err
    assert run["result"] == {"token_len": len(SECRET)} and run["worker"].startswith("tcp://127.0.0.1:")
    assert run["log_path"] == f"s3://{BUCKET}/runs/blocked/{run['id']}.ipynb"
    stored = s3_object(s3_env, f"runs/blocked/{run['id']}.ipynb")
    assert b"the token is ***" in stored and SECRET.encode() not in stored
    printed = run_cli("show", run["id"], "--log", cwd=project, env=s3_env)
    assert printed.returncode == 0 and json.loads(printed.stdout)["metadata"]["jetnb"]["run_id"] == run["id"]
    assert SECRET not in (project / ".jetnb" / "jetnb.db").read_bytes().decode("latin-1")


SLEEPY = [
    "%load_ext jetnb",
    "%%workflow\nname: sleepy\nconcurrency: 2",
    ("params", "seconds: float = 2.0"),
    "%%step nap\nimport time\ntime.sleep(seconds)",
    "%%result\n{'slept': seconds}",
]


@pytest.mark.slow
def test_serve_spreads_runs_over_both_workers_and_serves_their_logs_from_s3(project, dask_env, server):
    srv = server(env=dask_env, args=("--backend", "dask", "--runs-dir", f"s3://{BUCKET}/served", "--max-runs", "2"))
    srv.workflow("sleepy", SLEEPY)
    srv.start()
    ids = []
    for _ in range(2):
        answer = srv.api("POST", "/api/workflows/sleepy/runs", json={"params": {"seconds": 3}})
        assert answer.status_code in (200, 201, 202), answer.text
        ids.append(answer.json()["run_id"])
    runs = srv.finished_runs("sleepy", 2)
    assert {r["status"] for r in runs} == {"succeeded"}
    assert len({r["worker"] for r in runs}) == 2  # one run on each worker, at the same time
    for run_id in ids:
        log = srv.api("GET", f"/api/runs/{run_id}/log")
        assert log.status_code == 200 and json.loads(log.content)["metadata"]["jetnb"]["run_id"] == run_id
        page = requests.Session().get(f"{srv.url}/ui/runs/{run_id}/notebook?token={TOKEN}", timeout=60)
        assert page.status_code == 200 and "time.sleep" in page.text


@pytest.mark.slow
def test_a_worker_killed_mid_run_ends_it_failed_worker_lost(project, dask_env, cluster):
    notebook(BLOCKED, project / "blocked.ipynb")
    proc = start_run(project, {**dask_env, "API_TOKEN": SECRET}, "blocked.ipynb", "-p", "gate_file",
                     str(project / "never"))
    wait_for(lambda: step_status(show(project), "first") == "succeeded", "the run to start")
    victim = wait_for(cluster.running_on, "the run's worker")
    os.kill(cluster.workers[victim].pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    run = json.loads(out)
    assert run["status"] == "failed" and run["error"]["type"] == "WorkerLost", err
    assert run["error"]["message"].startswith("worker lost: the Dask worker tcp://127.0.0.1:")
    assert proc.returncode == 1


@pytest.mark.slow
def test_a_workflow_may_start_again_once_when_its_worker_is_lost(project, dask_env, cluster):
    cells = [c.replace("name: blocked", "name: blocked\nretries_on_worker_lost: 1") if isinstance(c, str) else c
             for c in BLOCKED]
    notebook(cells, project / "again.ipynb")
    gate = project / "gate"
    proc = start_run(project, {**dask_env, "API_TOKEN": SECRET}, "again.ipynb", "-p", "gate_file", str(gate))
    wait_for(lambda: step_status(show(project), "first") == "succeeded", "the run to start")
    victim = wait_for(cluster.running_on, "the run's worker")
    os.kill(cluster.workers[victim].pid, signal.SIGKILL)
    survivor = wait_for(lambda: (on := cluster.running_on()) and on != victim and on, "the run on the other worker")
    gate.write_text("go")
    out, err = proc.communicate(timeout=120)
    run = json.loads(out)
    assert run["status"] == "succeeded", err
    assert run["worker"] == cluster.names()[survivor]


@pytest.mark.slow
def test_cancel_reaches_the_worker_and_interrupts_its_kernel(project, dask_env, cluster):
    notebook(BLOCKED, project / "blocked.ipynb")
    proc = start_run(project, {**dask_env, "API_TOKEN": SECRET}, "blocked.ipynb", "-p", "gate_file",
                     str(project / "never"))
    run = wait_for(lambda: (r := show(project)) and step_status(r, "wait") == "running" and r, "the waiting step")
    cancelled = run_cli("cancel", run["id"], "--reason", "enough", cwd=project)
    assert cancelled.returncode == 0, cancelled.stderr
    out, err = proc.communicate(timeout=60)  # the step's loop would take 120 s: the kernel was interrupted
    ended = json.loads(out)
    assert ended["status"] == "cancelled" and "enough" in ended["error"]["message"], err
    assert step_status(ended, "wait") in ("cancelled", "failed", "interrupted")
    assert cluster.running_on() is None


GATED = [
    "%load_ext jetnb",
    "%%workflow\nname: gated\nallow_self_approval: false",
    ("params", 'side: str = "side.txt"'),
    '%%step before\nfrom pathlib import Path\np = Path(side)\np.write_text(p.read_text() + "x" if p.exists() else "x")\n'
    "base = 41",
    "%%step check --approve bob\nanswer = base + 1",
    '%%result\n{"answer": answer}',
]


@pytest.mark.slow
def test_a_waiting_run_resumes_on_the_other_worker_from_its_journal_on_s3(project, dask_env, cluster, user):
    notebook(GATED, project / "gated.ipynb")
    side = project / "side.txt"
    runs_dir = f"s3://{BUCKET}/gated"
    waiting = run_json(run_cli("run", "gated.ipynb", "-p", "side", str(side), "--backend", "dask", "--json",
                               "--runs-dir", runs_dir, cwd=project, env={**dask_env, **user("alice")}))
    assert waiting["status"] == "waiting", waiting
    first = {v: k for k, v in cluster.names().items()}[waiting["worker"]]
    cluster.workers[first].terminate()  # the resumed run must land on the other worker
    cluster.workers[first].wait(30)
    wait_for(lambda: first not in cluster.names(), "the worker to leave")
    [request] = json.loads(run_cli("approvals", "--json", cwd=project).stdout)
    assert run_cli("approve", str(request["id"]), cwd=project, env=user("bob")).returncode == 0
    done = run_json(run_cli("resume", waiting["id"], "--backend", "dask", "--json", "--runs-dir", runs_dir,
                            cwd=project, env=dask_env))
    assert done["status"] == "succeeded" and done["result"] == {"answer": 42}
    assert done["worker"] != waiting["worker"]
    assert side.read_text() == "x"  # 'before' was restored from the journal on S3, not run again


def test_an_unreachable_scheduler_is_one_clear_error_exit_2(project):
    notebook(SLEEPY, project / "sleepy.ipynb")
    port = free_port()
    result = run_cli("run", "sleepy.ipynb", "--backend", "dask", "--dask-scheduler", f"tcp://127.0.0.1:{port}",
                     cwd=project)
    assert result.returncode == 2
    assert f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert run_cli("runs", "--json", cwd=project).stdout.strip() in ("", "[]")  # nothing recorded
    missing = run_cli("run", "sleepy.ipynb", "--backend", "dask", cwd=project,
                      env={"JETNB_DASK_SCHEDULER": ""})
    assert missing.returncode == 2 and "--dask-scheduler" in missing.stderr


def test_a_local_cluster_runs_with_logs_on_memory(project):
    """The quick case: a LocalCluster in this process (threads), run logs on memory://, the run service inline."""
    from distributed import LocalCluster

    from jetnb import location
    from jetnb.executor import close_backends
    from jetnb.model.workflow import Workflow
    from jetnb.service.runs import RunService
    from jetnb.service.strategies import Inline
    from jetnb.store import Database

    notebook(SLEEPY, project / "sleepy.ipynb")
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as local:
        os.environ["JETNB_DASK_SCHEDULER"] = local.scheduler_address
        try:
            service = RunService(Database(project / "jetnb.db"), runs_dir="memory://quick/runs", strategy=Inline(),
                                 backend="dask")
            run_id = service.submit(Workflow.load(project / "sleepy.ipynb"), {"seconds": 0.1}, trigger="manual",
                                    started_by="test")
            run = service.store().get_run(run_id)
            service.close()
        finally:
            close_backends()
            os.environ.pop("JETNB_DASK_SCHEDULER")
    gc.collect()  # the cluster's and client's objects go now, not during a later test's import
    assert run["status"] == "succeeded" and run["result"] == {"slept": 0.1}
    assert run["log_path"] == f"memory://quick/runs/sleepy/{run_id}.ipynb"
    assert [s["status"] for s in run["steps"]] == ["succeeded", "succeeded"]
    assert json.loads(location.read_text(run["log_path"]))["metadata"]["jetnb"]["status"] == "succeeded"




EXPORT = [
    "%load_ext jetnb",
    "%%workflow\nname: export\nsecrets: [API_TOKEN]",
    "%%step save\nimport jetnb, pathlib\nfolder = pathlib.Path('bundle'); folder.mkdir(exist_ok=True)\n"
    "(folder / 'a.txt').write_text('a')\n"
    "jetnb.artifact('rows.csv', 'id,token\\n1,' + jetnb.secret('API_TOKEN') + '\\n')\n"
    "jetnb.artifact('bundle.zip', folder)",
    "%%result\n'saved'",
]


@pytest.mark.slow
def test_the_local_backend_keeps_run_logs_and_artifacts_on_s3(project, s3_env):
    notebook(EXPORT, project / "export.ipynb")
    env = {**s3_env, "API_TOKEN": SECRET}
    run = run_json(run_cli("run", "export.ipynb", "--runs-dir", f"s3://{BUCKET}/local", "--json", cwd=project,
                           env=env))
    assert run["status"] == "succeeded", run["error"]
    assert run["log_path"] == f"s3://{BUCKET}/local/export/{run['id']}.ipynb"
    assert [(a["name"], a["step"]) for a in run["artifacts"]] == [("rows.csv", "save"), ("bundle.zip", "save")]
    stored = s3_object(s3_env, f"local/export/{run['id']}/artifacts/rows.csv")
    assert stored == b"id,token\n1,***\n"  # masked as any text artifact
    listed = run_cli("artifacts", run["id"], cwd=project, env=s3_env)
    assert listed.returncode == 0 and "rows.csv" in listed.stdout and "bundle.zip" in listed.stdout
    got = run_cli("artifacts", run["id"], "bundle.zip", "-o", str(project / "got.zip"), cwd=project, env=s3_env)
    assert got.returncode == 0, got.stderr
    import zipfile

    with zipfile.ZipFile(project / "got.zip") as archive:
        assert archive.read("a.txt") == b"a"
    printed = run_cli("show", run["id"], "--log", cwd=project, env=s3_env)
    assert printed.returncode == 0 and SECRET not in printed.stdout
