"""How long a webhook sender waits: the 202 of an async hook (the run durably queued) and a sync hook's round trip.

Starts a real `jetnb serve` on a free loopback port in a temporary folder,
sends N async deliveries (default 50) and a few sync ones, prints medians,
and stops the server. Run from the repo root:
    python benchmarks/webhook_latency.py [N]
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

WORKFLOW = {"cells": [
    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
     "source": "%%workflow\nname: bench\ntriggers:\n  - webhook: {name: fast, auth: none}\n"
               "  - webhook: {name: sync, auth: none, response: sync}\nconcurrency: 4"},
    {"cell_type": "code", "metadata": {"tags": ["parameters"]}, "outputs": [], "execution_count": None,
     "source": "n: int = 0"},
    {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": "n * 2"},
], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 4}


def timed(call) -> float:
    start = time.perf_counter()
    response = call()
    elapsed = time.perf_counter() - start
    response.raise_for_status()
    return elapsed


def main(repeat: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="jetnb-bench-serve-"))
    (work / "notebooks").mkdir()
    (work / "notebooks" / "bench.ipynb").write_text(json.dumps(WORKFLOW))
    log = open(work / "serve.log", "w")
    server = subprocess.Popen([sys.executable, "-m", "jetnb", "serve", "notebooks", "--port", "0", "--grace", "120"],
                              cwd=work, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "HOME": str(work)})
    try:
        deadline = time.monotonic() + 60
        while not (found := re.search(r"on (http://127\.0\.0\.1:\d+)", (work / "serve.log").read_text())):
            if time.monotonic() > deadline or server.poll() is not None:
                sys.exit("the server did not start; see " + str(work / "serve.log"))
            time.sleep(0.1)
        url = found.group(1)
        synced = [timed(lambda: requests.post(f"{url}/hooks/sync", json={"n": 1}, timeout=120)) for _ in range(3)]
        accepted = [timed(lambda i=i: requests.post(f"{url}/hooks/fast", json={"n": i}, timeout=60))
                    for i in range(repeat)]
    finally:
        server.terminate()
        server.wait(timeout=300)
    rows = [(f"async webhook: 202 once durably queued (N={repeat})", f"{statistics.median(accepted) * 1000:.1f}ms"),
            ("sync webhook: result of a 1-cell run (N=3)", f"{statistics.median(synced):.2f}s")]
    for what, median in [("what", "median"), *rows]:
        print(f"{what:<48} {median:>8}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 50)
