"""`jetnb serve` with many scheduled workflows: time to start and CPU while nothing is due.

Writes N notebooks (default 10,000 and, for comparison in the same run,
1,000), each with a daily schedule that is not due during the measurement,
starts a real `jetnb serve` on a free loopback port, and measures:

- start, cold: from launch until the server answers (/api/health), and
  separately until every workflow is registered (/api/health counts all of
  them in ``workflows``, none ``pending``) — the first start parses every
  notebook, in batches, while it already answers;
- start, warm: the same after a restart (notebooks not written since are
  served from the store's record without being read);
- idle CPU: the server's (and its children's) CPU time over IDLE seconds while
  nothing is due, as a share of one core, from /proc.

With ``--baseline DIR`` (a checkout of the previous code, e.g. a worktree of
main), the same is measured in the same run with that code first on the
import path, and printed on the line below.

Only public tools: python, subprocess, requests, /proc. Run from the repo root:
    python benchmarks/serve_scale.py [--baseline DIR] [N ...]
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

IDLE = 20.0  # seconds of idle CPU measured
TICKS = os.sysconf("SC_CLK_TCK")


def write_notebooks(folder: Path, count: int) -> None:
    hour = (time.gmtime().tm_hour + 12) % 24  # half a day away: never due while measuring
    for number in range(count):
        name = f"w{number:05d}"
        cells = [{"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
                  "source": f"%%workflow\nname: {name}\ntriggers:\n  - schedule: {{cron: '0 {hour} * * *'}}"},
                 {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": "1 + 1"}]
        nb = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                          "language": "python"}}, "nbformat": 4, "nbformat_minor": 4}
        (folder / f"{name}.ipynb").write_text(json.dumps(nb))


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process and of its children still alive (the zygote), in seconds."""
    total = 0.0
    pids = [pid]
    for task in Path(f"/proc/{pid}/task").iterdir():
        pids.extend(int(c) for c in (task / "children").read_text().split())
    for each in pids:
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / TICKS
    return total


def serve(work: Path, count: int, code: str | None = None) -> tuple[float, float, float]:
    """Start the server, wait until every workflow is listed; seconds until it answers, until all are registered,
    and the idle CPU share."""
    log = open(work / "serve.log", "a")
    offset = log.tell()  # this start's lines only
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "jetnb", "serve", "notebooks", "--port", "0"], cwd=work,
                              stdout=log, stderr=subprocess.STDOUT,
                              env={**os.environ, "HOME": str(work), **({"PYTHONPATH": code} if code else {})})
    try:
        deadline = time.monotonic() + 900
        url, answered = None, None
        while True:
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit("the server did not start; see " + str(work / "serve.log"))
            if url is None:
                found = re.search(r"on (http://127\.0\.0\.1:\d+)", (work / "serve.log").read_text()[offset:])
                url = found.group(1) if found else None
                continue
            health = registered(url)
            if health is not None and answered is None:
                answered = time.perf_counter() - started
            if health is not None and health["workflows"] >= count and not health.get("pending"):
                break
            time.sleep(0.05)
        start = time.perf_counter() - started
        time.sleep(3)  # the zygote's imports and the warm kernels' start are over
        before = cpu_seconds(server.pid)
        time.sleep(IDLE)
        idle = (cpu_seconds(server.pid) - before) / IDLE
        return answered, start, idle
    finally:
        server.terminate()
        server.wait(timeout=300)
        log.close()


def registered(url: str) -> dict | None:
    """``/api/health``: how many workflows the server serves and how many notebooks it has still to read; None
    while it does not answer."""
    try:
        answer = requests.get(f"{url}/api/health", timeout=30)
    except requests.RequestException:
        return None
    return answer.json() if answer.ok else None


def main(counts: list[int], baseline: str | None) -> None:
    print(f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; idle CPU over {IDLE:g}s")
    print("answers: until /api/health answers; all: until every workflow is registered")
    print(f"{'workflows':>10} {'cold answers':>13} {'cold all':>9} {'warm answers':>13} {'warm all':>9} "
          f"{'idle CPU':>9}")
    for count in counts:
        for label, code in [("", None), *([(f"baseline {baseline}", baseline)] if baseline else [])]:
            work = Path(tempfile.mkdtemp(prefix="jetnb-bench-scale-"))
            (work / "notebooks").mkdir()
            write_notebooks(work / "notebooks", count)
            cold_answers, cold, _ = serve(work, count, code)
            warm_answers, warm, idle = serve(work, count, code)
            print(f"{count:>10} {cold_answers:>12.1f}s {cold:>8.1f}s {warm_answers:>12.1f}s {warm:>8.1f}s "
                  f"{idle * 100:>8.1f}% {label}", flush=True)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    previous = None
    if arguments[:1] == ["--baseline"]:
        previous, arguments = str(Path(arguments[1]).resolve()), arguments[2:]
    main([int(n) for n in arguments] or [1000, 10000], previous)
