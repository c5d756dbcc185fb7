"""Scale-out on Dask: N runs of a notebook with sleep steps on one worker and on two, beside the local baseline.

A real ``dask scheduler`` and ``dask worker`` processes on 127.0.0.1 (one
thread each, each pinned to one core with ``taskset`` when there is one);
the control plane is a ``RunService`` in this process, as ``jetnb serve``
drives it, with every run submitted at once (one thread per run, as the
dispatcher's slots). The local baseline runs the same runs with the
``forked`` backend in this process, one and two at a time. Then the
per-run overhead: one small run at a time, dask (one worker) vs forked.
    python benchmarks/dask_scaling.py [N] [SLEEP]
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

BIN = Path(sys.executable).parent
N = int(sys.argv[1]) if len(sys.argv) > 1 else 20
SLEEP = float(sys.argv[2]) if len(sys.argv) > 2 else 1.0
OVERHEAD_RUNS = 5


def notebook(path: Path, name: str, steps: int, sleep: float) -> Path:
    cells = ["%load_ext jetnb", f"%%workflow\nname: {name}\nconcurrency: 100"]
    cells += [f"%%step nap{i}\nimport time\ntime.sleep({sleep / steps})" for i in range(steps)]
    nb = {"cells": [{"cell_type": "code", "metadata": {}, "source": c, "outputs": [], "execution_count": None}
                    for c in cells], "nbformat": 4, "nbformat_minor": 4,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}
    path.write_text(json.dumps(nb))
    return path


class Cluster:
    def __init__(self, work: Path, workers: int):
        self.log = open(work / f"cluster-{workers}.log", "ab")
        file = work / f"scheduler-{workers}.json"
        self.procs = [subprocess.Popen([str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", "0",
                                        "--no-dashboard", "--dashboard-address", "127.0.0.1:0",
                                        "--scheduler-file", str(file)],
                                       stdout=self.log, stderr=self.log)]
        for _ in range(600):
            if file.exists() and file.read_text().strip():
                break
            time.sleep(0.1)
        self.address = json.loads(file.read_text())["address"]
        pin = shutil.which("taskset")
        for i in range(workers):
            cmd = [str(BIN / "dask"), "worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard",
                   "--dashboard-address", "127.0.0.1:0", "--host", "127.0.0.1",
                   "--local-directory", str(work / f"w{workers}-{i}")]
            cpu = i % (os.cpu_count() or 1)
            self.procs.append(subprocess.Popen(([pin, "-c", str(cpu)] if pin else []) + cmd,
                                               stdout=self.log, stderr=self.log))
        from distributed import Client

        with Client(self.address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=120)

    def close(self) -> None:
        for proc in reversed(self.procs):
            proc.terminate()
        for proc in self.procs:
            proc.wait(60)
        self.log.close()


def service(work: Path, backend: str, strategy):
    from jetnb.service.runs import RunService
    from jetnb.store import Database

    return RunService(Database(work / "jetnb.db"), runs_dir=work / "runs", strategy=strategy, backend=backend)


def batch(work: Path, backend: str, nb: Path, runs: int, parallel: int) -> float:
    """Seconds for ``runs`` runs through ``jetnb serve``'s dispatcher with ``parallel`` slots; all must succeed."""
    from jetnb.model.workflow import Workflow
    from jetnb.service.dispatcher import Dispatcher

    dispatcher = Dispatcher(parallel)
    svc, workflow = service(work, backend, dispatcher), Workflow.load(nb)
    dispatcher.start()
    start = time.perf_counter()
    ids = [svc.submit(workflow, {}, trigger="bench", started_by="bench") for _ in range(runs)]
    deadline = time.monotonic() + 1800
    while (statuses := [svc.status(run_id) for run_id in ids]) and not all(s.final for s in statuses):
        assert time.monotonic() < deadline, statuses
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    dispatcher.stop(0, threading.Event())
    svc.close()
    assert set(map(str, statuses)) == {"succeeded"}, statuses
    return elapsed


def overhead(work: Path, backend: str, nb: Path) -> float:
    from jetnb.model.workflow import Workflow
    from jetnb.service.strategies import Inline

    svc, workflow = service(work, backend, Inline()), Workflow.load(nb)
    svc.submit(workflow, {}, trigger="bench", started_by="bench")  # warm: imports, the zygote
    samples = []
    for _ in range(OVERHEAD_RUNS):
        start = time.perf_counter()
        svc.submit(workflow, {}, trigger="bench", started_by="bench")
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> None:
    from jetnb.executor import close_backends

    work = Path(tempfile.mkdtemp(prefix="jetnb-dask-bench-"))
    os.chdir(work)
    sleepy = notebook(work / "sleepy.ipynb", "sleepy", 2, SLEEP)
    tiny = notebook(work / "tiny.ipynb", "tiny", 1, 0.0)
    rows = []
    for parallel in (1, 2):
        rows.append((f"local (forked), {parallel} at a time", batch(work, "forked", sleepy, N, parallel)))
    local_tiny = overhead(work, "forked", tiny)
    dask_tiny = 0.0
    for workers in (1, 2):
        cluster = Cluster(work, workers)
        os.environ["JETNB_DASK_SCHEDULER"] = cluster.address
        try:
            batch(work, "dask", tiny, workers, workers)  # warm each worker's zygote
            rows.append((f"dask, {workers} worker(s)", batch(work, "dask", sleepy, N, workers)))
            if workers == 1:
                dask_tiny = overhead(work, "dask", tiny)
        finally:
            close_backends()
            cluster.close()
    print(f"{N} runs, each {SLEEP:g} s of sleep in 2 steps; {os.cpu_count()} cores")
    print(f"{'':34} {'seconds':>8} {'runs/s':>7}")
    for label, seconds in rows:
        print(f"{label:34} {seconds:8.2f} {N / seconds:7.2f}")
    one, two = rows[2][1], rows[3][1]
    print(f"speed-up, 2 workers vs 1: {one / two:.2f}x")
    print(f"one small run, median of {OVERHEAD_RUNS}: forked {local_tiny:.2f} s, dask {dask_tiny:.2f} s "
          f"(+{dask_tiny - local_tiny:.2f} s per run)")
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
