"""Run latency and kernel memory: a fresh kernel per run (local), pre-started kernels (pool), kernels forked when
the run starts (forked, JETNB_WARM_KERNELS=0: the previous default) and warm forked kernels (forked: the default).

All start a new kernel for every run, in the same process, through the
run service as `jetnb serve` calls it, on notebooks/hello.ipynb, with a
pause between runs (the pools refill meanwhile, as in a server between
triggers). The first run of each backend is not counted (imports, the
pool filling, the zygote starting). Memory: RSS, PSS (shared pages divided
among the processes sharing them) and USS (private pages) from
/proc/PID/smaps_rollup of KERNELS kernels alive at once, each after
`%load_ext jetnb`, ordinary and forked; and the zygote's own.
    python benchmarks/fork_latency.py [N]
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from webhook_latency import memory as smaps  # the same /proc reading (this folder is on sys.path)

REPO = Path(__file__).resolve().parent.parent
BACKENDS = {"local": ("local", None), "pool": ("pool", None), "forked, no warm": ("forked", "0"),
            "forked, warm": ("forked", "4")}
KERNELS = 3
PAUSE = 1.5  # seconds between runs
WARM = "get_ipython().run_line_magic('load_ext', 'jetnb')"


def latencies(backend: str, warm: str | None, repeat: int, work: Path) -> list[float]:
    from jetnb.executor import close_backends, get_backend
    from jetnb.service.request import prepare
    from jetnb.service.runs import RunService
    from jetnb.service.strategies import Inline
    from jetnb.store import Database

    if warm is not None:
        os.environ["JETNB_WARM_KERNELS"] = warm
    close_backends()  # a forked backend with the other setting
    service = RunService(Database(work / "jetnb.db"), runs_dir=work / "runs", strategy=Inline(), backend=backend)
    workflow, params = prepare(REPO / "notebooks" / "hello.ipynb", {"name": "bench"})
    made = get_backend(backend)
    time.sleep(3)  # the pools fill, the zygote imports
    samples = []
    for count in range(repeat + 1):
        if count == 1:  # CPU from the second run on: this process, the zygote, its reaped kernels
            before = cpu_now(made)
        start = time.perf_counter()
        run_id = service.submit(workflow, params, trigger="bench", started_by="bench")
        samples.append(time.perf_counter() - start)
        assert service.status(run_id) == "succeeded"
        time.sleep(PAUSE)
    after = cpu_now(made)
    CPU[backend if warm is None else f"{backend}, warm={warm}"] = [(b - a) / repeat for a, b in zip(before, after)]
    return samples[1:]


CPU: dict[str, list[float]] = {}  # backend -> CPU seconds per run: this process, the zygote, kernels it reaped


def cpu_now(backend: Any) -> tuple[float, float, float]:
    """This process's CPU time, and (forked backend) the zygote's own and its reaped children's, from /proc."""
    zygote = getattr(getattr(backend, "zygote", None), "pid", None)
    if zygote is None:
        return time.process_time(), 0.0, 0.0
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{zygote}/stat").read_text().rsplit(")", 1)[1].split()
    return (time.process_time(), (int(fields[11]) + int(fields[12])) / ticks,
            (int(fields[13]) + int(fields[14])) / ticks)


def ordinary_kernel(work: Path) -> tuple[Any, Any, int]:
    from jupyter_client import KernelManager

    from jetnb.executor.kernel_stderr import filtered_stderr

    km = KernelManager(kernel_name="python3")
    stderr = filtered_stderr()
    try:
        km.start_kernel(cwd=str(work), stderr=stderr)
    finally:
        stderr.close()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    kc.execute_interactive(WARM, timeout=60)
    return km, kc, kernel_pid(km)


def forked_kernel(work: Path) -> tuple[Any, Any, int]:
    from jupyter_core.utils import ensure_event_loop

    from jetnb.executor.forked_kernel import ForkedKernelManager

    km = ForkedKernelManager(forked_backend().zygote, kernel_name="python3")
    km.start_kernel(cwd=str(work))
    kc = km.client()
    kc.start_channels()
    loop = ensure_event_loop()
    loop.run_until_complete(kc.wait_for_ready(timeout=60))
    loop.run_until_complete(kc.execute_interactive(WARM, timeout=60))
    return km, kc, kernel_pid(km)


def kernel_pid(km: Any) -> int:
    """The kernel's process id, from its provisioner (jupyter_client's local one, or the zygote's)."""
    return int(km.provisioner.pid)


def forked_backend() -> Any:
    from jetnb.executor import get_backend

    return get_backend("forked")


def memory(start: Any, work: Path) -> dict[str, float]:
    """Mean RSS and PSS of KERNELS warm kernels alive at once."""
    kernels = [start(work) for _ in range(KERNELS)]
    time.sleep(1)
    try:
        sizes = [smaps(pid) for _, _, pid in kernels]
    finally:
        for km, kc, _ in kernels:
            kc.stop_channels()
            km.shutdown_kernel(now=True)
    return {key: statistics.mean(size[key] for size in sizes) for key in ("Rss", "Pss", "Uss")}


def main(repeat: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="jetnb-bench-"))
    os.environ.setdefault("HOME", str(work))
    os.chdir(work)
    from jetnb.executor import close_backends

    load = os.getloadavg()[0]
    runs = {label: latencies(backend, warm, repeat, work) for label, (backend, warm) in BACKENDS.items()}
    sizes = {"ordinary kernel": memory(ordinary_kernel, work), "forked kernel": memory(forked_kernel, work)}
    zygote = forked_backend().zygote
    sizes["zygote"] = smaps(zygote.pid)
    print(f"hello.ipynb, n={repeat} runs per backend (first run not counted), pause {PAUSE}s, "
          f"{os.cpu_count()} cores, load average {load:.1f} at start, {os.getloadavg()[0]:.1f} at end")
    print(f"{'backend':<16} {'median':>8} {'min':>8} {'max':>8}")
    for backend, samples in runs.items():
        print(f"{backend:<16} {statistics.median(samples):>7.3f}s {min(samples):>7.3f}s {max(samples):>7.3f}s")
    print("\nCPU per run (s): this process / the zygote / its kernels (reaped; forked backends only)")
    for backend, (own, zygote_cpu, kernels_cpu) in CPU.items():
        print(f"{backend:<16} {own:>7.3f} / {zygote_cpu:.3f} / {kernels_cpu:.3f}")
    print(f"\nmemory, mean of {KERNELS} warm kernels alive at once (after %load_ext jetnb); zygote imported "
          f"{', '.join(zygote.info['imported']) or 'nothing extra'}")
    print(f"{'process':<16} {'RSS':>9} {'PSS':>9} {'USS':>9}")
    for name, size in sizes.items():
        print(f"{name:<16} {size['Rss']:>6.1f}MiB {size['Pss']:>6.1f}MiB {size['Uss']:>6.1f}MiB")
    close_backends()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
