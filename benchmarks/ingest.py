"""The ingest row of docs/performance.md on its own: async webhook deliveries, 16 concurrent senders, durable 202s.

Starts a real `jetnb serve` (webhook_latency's ``Server``) whose ingest
workflow holds its one slot with a sleeping run, so every delivery is
durably queued and none executes: the row measures ingest, not runs.
Then, for SECONDS each:

- the lean client: 16 keep-alive HTTP/1.1 connections over asyncio in one
  process, each sending a small POST and reading the 202 before the next
  (its own CPU per request, printed, is about a third of a bare Tornado
  server's, so the row measures the server more than the client);
- the same lean client against a bare Tornado handler that answers 202 at
  once (no store, no validation), in its own process: the ceiling of the
  HTTP server jetnb is built on, on this machine at this moment;
- with ``--requests``, also webhook_latency's client (16 threads, each
  with a ``requests.Session``), whose own Python CPU on the same two cores
  caps what it can send.

Each request carries its own ``X-Delivery-Id``, so the server's dedupe
rows are written as a real sender's would be. Afterwards the store is
checked: every 202 is a queued run with its delivery row.

    python benchmarks/ingest.py [SECONDS] [--requests] [--profile] [--baseline=DIR]

``--baseline=DIR`` measures a second server started from the jetnb package
in DIR (on PYTHONPATH), e.g. main's code exported with
``mkdir DIR && git archive main jetnb | tar -x -C DIR``, in the same run.

``--profile`` samples the server with ``py-spy record`` (if installed) and
writes its collapsed stacks (one line per stack, per thread) next to the
server's log.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from webhook_latency import SENDERS, Server, ingest as requests_ingest  # this folder is on sys.path

SECONDS = 10.0
REQUEST = ("POST /hooks/ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
           "X-Delivery-Id: {delivery}\r\nContent-Length: 2\r\n\r\n{{}}")


async def sender(host: str, port: int, numbers: itertools.count, stop: float, samples: list[float],
                 acked: list[str]) -> None:
    """One keep-alive connection: POST, read the whole answer, repeat until ``stop``."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.monotonic() < stop:
            delivery = f"bench-{next(numbers)}"
            started = time.perf_counter()
            writer.write(REQUEST.format(delivery=delivery).encode())
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            body = await reader.readexactly(length)
            samples.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 202"):
                sys.exit(f"ingest: {head.splitlines()[0].decode()} {body[:200]!r}")
            acked.append(delivery)
    finally:
        writer.close()


async def lean(url: str, seconds: float) -> tuple[float, float, float, list[str]]:
    host, port = url.removeprefix("http://").split(":")
    samples: list[float] = []
    acked: list[str] = []
    numbers = itertools.count()
    started = time.perf_counter()
    stop = time.monotonic() + seconds
    await asyncio.gather(*(sender(host, int(port), numbers, stop, samples, acked) for _ in range(SENDERS)))
    elapsed = time.perf_counter() - started
    samples.sort()
    return (len(samples) / elapsed, samples[len(samples) // 2] * 1000,
            samples[int(len(samples) * 0.99) - 1] * 1000, acked)


class Bare:
    """A Tornado server whose one handler answers every POST with a 202 like jetnb's, at once."""

    def __init__(self):
        self.process = subprocess.Popen([sys.executable, __file__, "--bare-server"], stdout=subprocess.PIPE, text=True)
        self.url = f"http://127.0.0.1:{self.process.stdout.readline().strip()}"

    def __enter__(self) -> "Bare":
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def bare_server() -> None:
    import json
    import tornado.web
    from tornado.httpserver import HTTPServer
    from tornado.netutil import bind_sockets

    class Accept(tornado.web.RequestHandler):
        def check_xsrf_cookie(self) -> None:
            pass

        async def post(self, name: str) -> None:
            self.set_status(202)
            self.set_header("Content-Type", "application/json; charset=utf-8")
            self.finish(json.dumps({"run_id": "20261202-000000-000000", "status": "queued"}))

    async def serve() -> None:
        sockets = bind_sockets(0, "127.0.0.1")
        HTTPServer(tornado.web.Application([(r"/hooks/([^/]+)", Accept)], xsrf_cookies=True)).add_sockets(sockets)
        print(sockets[0].getsockname()[1], flush=True)
        await asyncio.Event().wait()

    asyncio.run(serve())


def thread_cpu(pid: int) -> dict[str, float]:
    """CPU seconds (user + system) of each of a process's threads, from /proc ("main" and thread ids: CPython
    does not name its threads for the OS)."""
    tick = os.sysconf("SC_CLK_TCK")
    found: dict[str, float] = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = "main" if task.name == str(pid) else task.name
            fields = (task / "stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        found[name] = found.get(name, 0.0) + (int(fields[11]) + int(fields[12])) / tick
    return found


def hold_the_slot(server: Server) -> None:
    """The first delivery's run takes the workflow's one slot and sleeps; wait until it runs, and then for its
    start (papermill's import in the server, ~1 s of CPU) to be over, so that it is not inside the measured
    seconds."""
    import requests

    requests.post(f"{server.url}/hooks/ingest", json={}, timeout=60).raise_for_status()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        conn = sqlite3.connect(server.work / ".jetnb" / "jetnb.db")
        started = conn.execute("SELECT COUNT(*) FROM runs WHERE workflow = 'ingest' AND status = 'running'"
                               ).fetchone()[0]
        conn.close()
        if started:
            time.sleep(4)
            return
        time.sleep(0.2)
    sys.exit("ingest: the run holding the slot did not start")


def fire_lines(server: Server) -> list[int]:
    """Deliveries per "fire:" line of the server's log: one line per group commit on this code ("N accepted in one
    commit"), one per delivery on main's."""
    sizes = []
    for line in (server.work / "serve.log").read_text().splitlines():
        if " fire: " in line and "webhook ingest" in line:
            found = re.search(r"fire: (\d+) accepted in one commit", line)
            sizes.append(int(found.group(1)) if found else 1)
    return sizes


def check_store(server: Server, acked: list[str]) -> str:
    """Every acknowledged delivery is a queued run with its delivery row (nothing answered 202 is missing)."""
    conn = sqlite3.connect(server.work / ".jetnb" / "jetnb.db")
    rows = dict(conn.execute("SELECT d.delivery_id, r.status FROM deliveries d JOIN runs r ON r.id = d.run_id "
                             "WHERE d.hook = 'ingest'"))
    conn.close()
    missing = [d for d in acked if d not in rows]
    if missing:
        sys.exit(f"ingest: {len(missing)} acknowledged deliveries are not in the store, e.g. {missing[:3]}")
    return f"store: all {len(acked)} acknowledged deliveries recorded with their runs"


def measure(seconds: float, env: dict[str, str] | None = None) -> list[str]:
    """One server (``env``: e.g. PYTHONPATH naming another jetnb), the lean client for ``seconds``: printed lines."""
    with Server("forked", env=env, args=("--grace", "1")) as server:
        hold_the_slot(server)
        spy = None
        pyspy = shutil.which("py-spy", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
        if "--profile" in sys.argv and pyspy:
            stacks = server.work / "ingest-profile.txt"
            spy = subprocess.Popen([pyspy, "record", "-o", str(stacks), "-p", str(server.process.pid), "-f", "raw",
                                    "--nonblocking", "-r", "250", "-d", str(int(seconds) + 2), "-t"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(1)
        before, client_before = thread_cpu(server.process.pid), time.process_time()
        rate, p50, p99, acked = asyncio.run(lean(server.url, seconds))
        after, client = thread_cpu(server.process.pid), time.process_time() - client_before
        lines = [f"lean client: {rate:.0f} req/s, p50 {p50:.1f}ms, p99 {p99:.1f}ms"]
        if spy is not None:
            spy.wait()
            lines.append(f"profile: {stacks}")
        lines.append(check_store(server, acked))
        if sizes := fire_lines(server):
            lines.append(f"log: {len(sizes)} fire lines for {sum(sizes)} deliveries, at most {max(sizes)} a line")
        per = {name: (after[name] - before.get(name, 0.0)) / len(acked) * 1e6 for name in after}
        shown = ", ".join(f"{name} {us:.0f}" for name, us in sorted(per.items(), key=lambda kv: -kv[1]) if us >= 1)
        lines.append(f"CPU per request (us): server {sum(per.values()):.0f} ({shown}); lean client "
                     f"{client / len(acked) * 1e6:.0f}")
        if "--requests" in sys.argv:
            old_rate, old_p99 = requests_ingest(server)
            lines.append(f"requests client (threads, webhook_latency.py): {old_rate:.0f} req/s, p99 {old_p99:.1f}ms")
    return lines


def main() -> None:
    if "--bare-server" in sys.argv:
        return bare_server()
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    seconds = float(args[0]) if args else SECONDS
    baseline = next((a.partition("=")[2] for a in sys.argv if a.startswith("--baseline=")), None)
    load = os.getloadavg()
    results = {"this code": measure(seconds)}
    if baseline:
        results[f"baseline ({baseline})"] = measure(seconds, {"PYTHONPATH": baseline})
    with Bare() as bare:
        bare_before = sum(thread_cpu(bare.process.pid).values())
        bare_rate, bare_p50, bare_p99, bare_acked = asyncio.run(lean(bare.url, seconds))
        bare_cpu = (sum(thread_cpu(bare.process.pid).values()) - bare_before) / len(bare_acked) * 1e6
    print(f"{os.cpu_count()} cores; load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} at start, "
          f"{os.getloadavg()[0]:.2f} at end; {seconds:g}s per client, {SENDERS} senders")
    for name, lines in results.items():
        print(f"{name}:")
        for line in lines:
            print(f"  {line}")
    print(f"bare Tornado 202, same client (the HTTP server's ceiling here): {bare_rate:.0f} req/s, p50 "
          f"{bare_p50:.1f}ms, p99 {bare_p99:.1f}ms, CPU {bare_cpu:.0f}us per request")


if __name__ == "__main__":
    main()
