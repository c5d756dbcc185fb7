"""How a run's time grows with its number of steps: 50, 100, 200, 400 `%%step` cells, each trivial.

Each size runs once through the real `jetnb run` (a fresh kernel, the run log
saved as the run goes); the last column is the time per step, which stays
flat when the cost is linear. The previous engine, which re-serialised,
re-validated and fsynced the whole notebook at every event, measured
4 / 11 / 35 / 131 s on the same machine (docs/performance.md).

    python benchmarks/steps_scaling.py [SIZES...]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def notebook(steps: int, path: Path) -> Path:
    cells = [{"cell_type": "code", "metadata": {}, "source": "%load_ext jetnb", "outputs": [], "execution_count": None}]
    cells += [{"cell_type": "code", "metadata": {}, "source": f"%%step s{i}\nvalue_{i} = {i}\nprint({i})",
               "outputs": [], "execution_count": None} for i in range(steps)]
    nb = {"cells": cells, "nbformat": 4, "nbformat_minor": 4,
          "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}}
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def main(sizes: list[int]) -> None:
    work = Path(tempfile.mkdtemp(prefix="jetnb-steps-"))
    env = {**os.environ, "HOME": str(work)}
    print(f"{'steps':>6} {'seconds':>9} {'ms/step':>9}   ({os.cpu_count()} cores; jetnb run, one fresh kernel each)")
    for steps in sizes:
        path = notebook(steps, work / f"steps{steps}.ipynb")
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "jetnb", "run", str(path), "-q"], cwd=work, env=env,
                              capture_output=True, text=True)
        took = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{steps} steps failed:\n{done.stderr}")
        print(f"{steps:>6} {took:>9.2f} {1000 * took / steps:>9.1f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [50, 100, 200, 400])
