"""Run latency with a fresh kernel per run (local) versus a pre-started kernel pool (pool).

Both backends start a new kernel for every run; the pool starts it before
the run is asked for. Prints the median and min of N runs of
notebooks/hello.ipynb per backend, with a pause between runs (the pool
refills meanwhile, as in a server between triggers), in-process through
the runner as `jetnb serve` calls it.
    python benchmarks/pool_latency.py [N]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def main(repeat: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="jetnb-bench-"))
    os.environ.setdefault("HOME", str(work))
    os.chdir(work)
    from jetnb import run
    from jetnb.executor import get_backend

    print(f"{'backend':<8} {'median':>8} {'min':>8}   (n={repeat}, pause 2s between runs, {os.cpu_count()} cores)")
    for backend in ("local", "pool"):
        get_backend(backend)
        time.sleep(3)  # let the pool fill
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            record = run(REPO / "notebooks" / "hello.ipynb", {"name": "bench"}, store=work / "jetnb.db",
                         runs_dir=work / "runs", trigger="bench", backend=backend)
            samples.append(time.perf_counter() - start)
            assert record["status"] == "succeeded"
            time.sleep(2)
        print(f"{backend:<8} {statistics.median(samples):>7.3f}s {min(samples):>7.3f}s")
    get_backend("pool").close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)
