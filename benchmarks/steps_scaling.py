"""How a run's time grows with its number of steps: 50, 100, 200, 400 `%%step` cells, each trivial.

Each size runs once through the real `jetnb run` (a fresh kernel, the run log
saved as the run goes) and, as the baseline in the same run, once through the
papermill CLI on the same notebook (papermill saves the whole notebook at
every cell start and end, so its cost per step grows with the notebook). The
ms/step columns stay flat when the cost is linear. `--no-baseline` skips
papermill (it takes minutes at 400 steps).

    python benchmarks/steps_scaling.py [--no-baseline] [SIZES...]
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


def timed(command: list[str], work: Path, env: dict[str, str], what: str) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True)
    took = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stderr[-3000:]}")
    return took


def main(sizes: list[int], baseline: bool) -> None:
    work = Path(tempfile.mkdtemp(prefix="jetnb-steps-"))
    env = {**os.environ, "HOME": str(work)}
    print(f"{os.cpu_count()} cores; one fresh kernel per run")
    print(f"{'steps':>6} {'jetnb s':>9} {'ms/step':>9} {'papermill s':>12} {'ms/step':>9} {'jetnb/pm':>9}")
    for steps in sizes:
        path = notebook(steps, work / f"steps{steps}.ipynb")
        ours = timed([sys.executable, "-m", "jetnb", "run", str(path), "-q"], work, env, f"jetnb run, {steps} steps")
        line = f"{steps:>6} {ours:>9.2f} {1000 * ours / steps:>9.1f}"
        if baseline:
            theirs = timed([sys.executable, "-m", "papermill", str(path), str(work / f"pm{steps}.ipynb"),
                            "--no-progress-bar"], work, env, f"papermill, {steps} steps")
            line += f" {theirs:>12.2f} {1000 * theirs / steps:>9.1f} {ours / theirs:>9.2f}"
        print(line, flush=True)


if __name__ == "__main__":
    args = sys.argv[1:]
    main([int(a) for a in args if a != "--no-baseline"] or [50, 100, 200, 400], "--no-baseline" not in args)
