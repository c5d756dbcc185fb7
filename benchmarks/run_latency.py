"""How long a user waits: `jetnb run` and `jetnb runs` beside the papermill CLI they would otherwise use.

Prints a table of medians over N repetitions (default 5). Run from the repo root:
    python benchmarks/run_latency.py [N]
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HELLO = str(REPO / "notebooks" / "hello.ipynb")


def timed(cmd: list[str], cwd: str) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, timeout=300)
    return time.perf_counter() - start


def main(repeat: int) -> None:
    work = tempfile.mkdtemp(prefix="jetnb-bench-")
    os.environ.setdefault("HOME", work)
    py = sys.executable
    cases = [
        ("papermill CLI: hello.ipynb", [py, "-m", "papermill", HELLO, "out.ipynb", "-p", "name", "B",
                                        "--no-progress-bar"]),
        ("jetnb run: hello.ipynb", [py, "-m", "jetnb", "run", HELLO, "-p", "name", "B", "-q"]),
        ("jetnb runs (list 20)", [py, "-m", "jetnb", "runs"]),
        ("jetnb show RUN", None),
        ("jetnb check hello.ipynb", [py, "-m", "jetnb", "check", HELLO]),
    ]
    print(f"{'command':<30} {'median':>8} {'min':>8}   (n={repeat}, {os.cpu_count()} cores)")
    for label, cmd in cases:
        if cmd is None:
            run_id = subprocess.run([py, "-m", "jetnb", "runs", "-n", "1", "--json"], cwd=work, capture_output=True,
                                    text=True, check=True).stdout.split('"id": "')[1].split('"')[0]
            cmd = [py, "-m", "jetnb", "show", run_id]
        samples = [timed(cmd, work) for _ in range(repeat)]
        print(f"{label:<30} {statistics.median(samples):>7.2f}s {min(samples):>7.2f}s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
