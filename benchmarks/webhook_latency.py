"""The server rows of docs/performance.md, each beside its baseline measured in the same run.

Starts real `jetnb serve` processes on free loopback ports in temporary
folders and measures, on hello.ipynb (7 cells once papermill has injected
its parameters) with a sync webhook, and a workflow for ingest:

- the papermill CLI on the same notebook (the baseline every row is a share of);
- sync webhook → result, per backend: `forked` (the default: warm forked
  kernels), `forked` with JETNB_WARM_KERNELS=0 (the previous default: a
  kernel forked when the run starts) and `pool`;
- sustained trivial runs through the API (submit → done) for the default
  backend and the previous one;
- async webhook ingest (202 once durably queued), 16 concurrent senders:
  requests per second and the 99th percentile, to a workflow whose one
  slot is held by a sleeping run (deliveries are queued, not run);
- memory per warm kernel (RSS, USS, PSS) and the zygote's, from /proc.

With ``--baseline DIR`` (a checkout of the previous code, e.g. a worktree of
main), sustained runs are also measured with that code first on the import
path, in the same run. Sustained runs print the CPU per run of the server
and of the kernels (the zygote's reaped children), from /proc.

Only public tools: python, subprocess, requests, /proc. Run from the repo root:
    python benchmarks/webhook_latency.py [--baseline DIR] [N]   (N sync requests per backend, default 7)
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import requests

REPO = Path(__file__).resolve().parent.parent
HELLO = REPO / "notebooks" / "hello.ipynb"
TOKEN = "bench-token-0123456789"
SENDERS = 16
INGEST_SECONDS = 10.0
THROUGHPUT_RUNS = 60
PAUSE = 0.5  # seconds between sync requests: the warm kernels refill meanwhile, as between triggers


def ingest_notebook() -> dict[str, Any]:
    """An async webhook whose first run sleeps and holds the workflow's only slot: every later delivery is queued
    durably and stays queued, so ingest is measured on its own, not beside hundreds of runs."""
    cell = lambda source: {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,  # noqa: E731
                           "source": source}
    return {"cells": [cell("%%workflow\nname: ingest\ntriggers:\n  - webhook: {name: ingest, auth: none}\n"
                           "concurrency: 1"), cell("import time\ntime.sleep(600)")],
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
            "nbformat": 4, "nbformat_minor": 4}


def workflow_notebook() -> dict[str, Any]:
    """hello.ipynb with a sync webhook and room for many runs at once."""
    nb = json.loads(HELLO.read_text())
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if source.startswith("%%workflow"):
            cell["source"] = source + ("\ntriggers:\n  - webhook: {name: sync, auth: none, response: sync}\n"
                                       "concurrency: 16\n")
    return nb


class Server:
    """One `jetnb serve` in its own folder; stopped (and its log kept) on exit."""

    def __init__(self, backend: str, env: dict[str, str] | None = None, args: tuple[str, ...] = ()):
        self.work = Path(tempfile.mkdtemp(prefix="jetnb-bench-serve-"))
        (self.work / "notebooks").mkdir()
        (self.work / "notebooks" / "hello.ipynb").write_text(json.dumps(workflow_notebook()))
        (self.work / "notebooks" / "ingest.ipynb").write_text(json.dumps(ingest_notebook()))
        self.log = open(self.work / "serve.log", "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "jetnb", "serve", "notebooks", "--port", "0", "--backend", backend, *args],
            cwd=self.work, stdout=self.log, stderr=subprocess.STDOUT,
            env={**os.environ, "HOME": str(self.work), "JETNB_TOKEN": TOKEN, **(env or {})})
        deadline = time.monotonic() + 120
        while not (found := re.search(r"on (http://127\.0\.0\.1:\d+)", (self.work / "serve.log").read_text())):
            if time.monotonic() > deadline or self.process.poll() is not None:
                sys.exit("the server did not start; see " + str(self.work / "serve.log"))
            time.sleep(0.1)
        self.url = found.group(1)
        self.session = requests.Session()
        time.sleep(5)  # the zygote imports, the warm kernels start

    def __enter__(self) -> Server:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.process.terminate()
        self.process.wait(timeout=300)
        self.log.close()


def timed(call: Any) -> float:
    start = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed


def papermill_cli(repeat: int) -> list[float]:
    work = tempfile.mkdtemp(prefix="jetnb-bench-pm-")
    cmd = [sys.executable, "-m", "papermill", str(HELLO), "out.ipynb", "-p", "name", "B", "--no-progress-bar"]
    return [timed_process(cmd, work) for _ in range(repeat)]


def timed_process(cmd: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, timeout=300,
                   env={**os.environ, "HOME": cwd})
    return time.perf_counter() - start


def sync_latencies(server: Server, repeat: int) -> list[float]:
    samples = []
    for _ in range(repeat + 1):  # the first is not counted (the first request's own imports in the server)
        samples.append(timed(lambda: server.session.post(f"{server.url}/hooks/sync", json={"name": "B"},
                                                         timeout=300)))
        time.sleep(PAUSE)
    return samples[1:]


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(own, reaped children's) CPU seconds of a process, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks, (int(fields[13]) + int(fields[14])) / ticks


def zygote_of(server: Server) -> int:
    zygotes = [pid for pid in children(server.process.pid)
               if "jetnb.executor.zygote" in Path(f"/proc/{pid}/cmdline").read_text()]
    if not zygotes:
        sys.exit("no zygote under the server")
    return zygotes[0]


def throughput_and_cpu(server: Server, runs: int) -> tuple[float, float, float]:
    """``throughput``, and the CPU milliseconds per run of the server and of the kernels (the zygote's children,
    counted once reaped)."""
    zygote = zygote_of(server)
    server_before, kernels_before = cpu_seconds(server.process.pid)[0], cpu_seconds(zygote)[1]
    rate = throughput(server, runs)
    time.sleep(3)  # the last kernels exit and are reaped; the warm kernels refill
    server_after, kernels_after = cpu_seconds(server.process.pid)[0], cpu_seconds(zygote)[1]
    return rate, (server_after - server_before) * 1000 / runs, (kernels_after - kernels_before) * 1000 / runs


def throughput(server: Server, runs: int) -> float:
    """Runs per second from the first API submission until every run has ended."""
    headers = {"Authorization": f"Bearer {TOKEN}"}
    start = time.perf_counter()
    ids = [server.session.post(f"{server.url}/api/workflows/hello/runs", json={"params": {"name": "B"}},
                               headers=headers, timeout=60).json()["run_id"] for _ in range(runs)]
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        listed = server.session.get(f"{server.url}/api/runs", params={"workflow": "hello", "limit": runs + 50},
                                    headers=headers, timeout=60).json()
        ended = {run["id"]: run["status"] for run in listed["runs"] if run["status"] not in ("queued", "running")}
        if all(run_id in ended for run_id in ids):
            elapsed = time.perf_counter() - start
            bad = [s for s in (ended[i] for i in ids) if s != "succeeded"]
            if bad:
                sys.exit(f"throughput: {len(bad)} runs did not succeed: {bad[:3]}")
            return runs / elapsed
        time.sleep(0.05)
    sys.exit("throughput: runs did not end in 600s")


def ingest(server: Server) -> tuple[float, float]:
    """Async webhook deliveries from SENDERS threads for INGEST_SECONDS: requests per second and p99 (ms)."""
    samples: list[float] = []
    lock = threading.Lock()
    stop = time.monotonic() + INGEST_SECONDS

    def sender() -> None:
        session = requests.Session()
        mine = []
        while time.monotonic() < stop:
            mine.append(timed(lambda: session.post(f"{server.url}/hooks/ingest", json={}, timeout=60)))
        with lock:
            samples.extend(mine)

    threads = [threading.Thread(target=sender) for _ in range(SENDERS)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    samples.sort()
    return len(samples) / elapsed, samples[int(len(samples) * 0.99) - 1] * 1000


def memory(pid: int) -> dict[str, float]:
    """RSS, PSS and USS (private pages) of a process, in MiB, from /proc."""
    values = {"Rss": 0.0, "Pss": 0.0, "Uss": 0.0}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("Rss", "Pss"):
            values[key] = int(rest.split()[0]) / 1024
        elif key in ("Private_Clean", "Private_Dirty"):
            values["Uss"] += int(rest.split()[0]) / 1024
    return values


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.extend(int(child) for child in text)
    return found


def warm_memory(server: Server) -> tuple[dict[str, float], list[dict[str, float]]]:
    """The zygote's memory, and each warm kernel's (the zygote's children while the server is idle)."""
    zygote = zygote_of(server)
    time.sleep(3)
    return memory(zygote), [memory(pid) for pid in children(zygote)]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def main(repeat: int, previous: str | None) -> None:
    load = os.getloadavg()[0]
    baseline = median(papermill_cli(max(repeat // 2, 3)))
    rows: list[tuple[str, str, str]] = []
    sync: dict[str, float] = {}
    rates: dict[str, tuple[float, float, float]] = {}
    with Server("forked") as server:
        sync["forked"] = median(sync_latencies(server, repeat))
        zygote, kernels = warm_memory(server)
        rates["forked"] = throughput_and_cpu(server, THROUGHPUT_RUNS)
    with Server("forked", env={"JETNB_WARM_KERNELS": "0"}) as server:
        sync["no-warm"] = median(sync_latencies(server, repeat))
        rates["no-warm"] = throughput_and_cpu(server, THROUGHPUT_RUNS)
    if previous:
        with Server("forked", env={"PYTHONPATH": previous}) as server:
            rates["previous"] = throughput_and_cpu(server, THROUGHPUT_RUNS)
    with Server("pool") as server:
        sync["pool"] = median(sync_latencies(server, repeat))
    with Server("forked", args=("--grace", "1")) as server:
        rate, p99 = ingest(server)
    after = median(papermill_cli(max(repeat // 2, 3)))  # the baseline again: the machine's load may have changed
    baseline = (baseline + after) / 2
    share = lambda seconds: f"{seconds:.3f}s ({seconds / baseline:.3f}x)"  # noqa: E731
    rows = [
        ("papermill CLI, hello.ipynb (baseline)", f"{baseline:.2f}s", "-"),
        ("sync webhook -> result, default (warm forked)", share(sync["forked"]),
         f"forked, no warm kernels: {share(sync['no-warm'])}"),
        ("same, --backend pool", share(sync["pool"]), ""),
        ("sustained runs, API submit -> done", sustained(rates["forked"]),
         f"forked, no warm kernels: {sustained(rates['no-warm'])}"
         + (f"; previous code ({previous}): {sustained(rates['previous'])}" if previous else "")),
        (f"async webhook ingest, {SENDERS} senders", f"{rate:.0f} req/s, p99 {p99:.1f}ms", ""),
    ]
    print(f"hello.ipynb; {os.cpu_count()} cores; load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at end; "
          f"medians of {repeat} sync requests, {THROUGHPUT_RUNS} API runs, {INGEST_SECONDS:g}s of ingest")
    print(f"{'row':<48} {'measured':<30} baseline / previous")
    for what, measured, previous in rows:
        print(f"{what:<48} {measured:<30} {previous}")
    print(f"\nmemory (MiB): zygote RSS {zygote['Rss']:.1f} USS {zygote['Uss']:.1f}; {len(kernels)} warm kernels, "
          f"mean RSS {statistics.mean(k['Rss'] for k in kernels):.1f} USS {statistics.mean(k['Uss'] for k in kernels):.1f}"
          f" PSS {statistics.mean(k['Pss'] for k in kernels):.1f}" if kernels else "no warm kernel found")


def sustained(measured: tuple[float, float, float]) -> str:
    rate, server_ms, kernels_ms = measured
    return f"{rate:.1f} runs/s (CPU/run: server {server_ms:.0f}ms, kernel {kernels_ms:.0f}ms)"


if __name__ == "__main__":
    arguments = sys.argv[1:]
    code = None
    if arguments[:1] == ["--baseline"]:
        code, arguments = str(Path(arguments[1]).resolve()), arguments[2:]
    main(int(arguments[0]) if arguments else 7, code)
