"""Acknowledged submissions are group-committed: many writes per durable commit, each caller told only after its
commit, a failing write rolled back alone, a delivery id in flight twice started once; and a real server killed with
SIGKILL while senders post keeps every run it answered 202 for, and runs each once."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest
import requests

from servekit import wait_for
from jetnb.service.commits import GroupCommit
from jetnb.store import AlreadyDelivered, Database, Store

SENDERS, PER_SENDER = 8, 12


def _run(store: Store, name: str) -> str:
    return store.create_run(workflow="w", notebook="w.ipynb", params={"name": name}, durable=True)


def test_group_commit_groups_writes_and_isolates_a_failing_one(project: Path):
    db = Database(project / "jetnb.db")
    commits = GroupCommit(db)
    futures: list[Future] = []
    lock = threading.Lock()

    def send(sender: int) -> None:
        for number in range(25):
            future = commits.submit(lambda store, n=f"{sender}-{number}": _run(store, n))
            with lock:
                futures.append(future)

    def broken(store: Store) -> str:
        _run(store, "half-written")
        raise ValueError("refused after a write")

    threads = [threading.Thread(target=send, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    failing = commits.submit(broken)
    for thread in threads:
        thread.join()
    ids = [f.result(timeout=60) for f in futures]
    with pytest.raises(ValueError):
        failing.result(timeout=60)
    commits.close()
    store = Store(project / "jetnb.db")
    names = {r["params"]["name"] for r in store.list_runs(limit=1000)}
    assert len(set(ids)) == 200 and len(names) == 200 and "half-written" not in names
    assert commits.writes == 201 and commits.batches < commits.writes
    db.close()


def test_a_delivery_id_in_flight_twice_starts_one_run(project: Path):
    db = Database(project / "jetnb.db")
    commits = GroupCommit(db)

    def deliver(store: Store) -> str:
        run_id = _run(store, "delivery")
        store.record_delivery("hook", "same-id", run_id)
        return run_id

    gate = threading.Event()
    commits.submit(lambda store: gate.wait(10))  # holds the committer so both deliveries share the next batch
    first, second = commits.submit(deliver), commits.submit(deliver)
    gate.set()
    with pytest.raises(AlreadyDelivered) as refused:
        second.result(timeout=60)
    assert refused.value.run_id == first.result(timeout=60)
    commits.close()
    assert [r["id"] for r in Store(project / "jetnb.db").list_runs()] == [first.result()]
    db.close()


COUNTER = ["%%workflow\nname: counted\ntriggers:\n  - webhook: {name: count, auth: none}\nconcurrency: 2",
           ("params", "n: int = 0"),
           "import os\nwith open('../marks.txt', 'a') as marks:\n    marks.write(f'{n}\\n')\n    marks.flush()\n"
           "    os.fsync(marks.fileno())"]


def test_every_acknowledged_delivery_survives_kill_9_and_runs_once(server):
    srv = server()
    srv.workflow("counted", COUNTER)
    srv.start()
    acked: dict[int, str] = {}
    lock, killed = threading.Lock(), threading.Event()

    def send(sender: int) -> None:
        session = requests.Session()
        for number in range(PER_SENDER):
            n = sender * 1000 + number
            try:
                answer = session.post(f"{srv.url}/hooks/count", data=json.dumps({"n": n}), timeout=30,
                                      headers={"X-Delivery-Id": f"d-{n}"})
            except requests.RequestException:
                return  # the server is gone: this delivery was never acknowledged
            if answer.status_code == 202:
                with lock:
                    acked[n] = answer.json()["run_id"]
            if killed.is_set():
                return

    threads = [threading.Thread(target=send, args=(n,)) for n in range(SENDERS)]
    for thread in threads:
        thread.start()
    wait_for(lambda: len(acked) >= SENDERS * PER_SENDER // 3, "a third of the deliveries acknowledged")
    srv.kill()
    killed.set()
    for thread in threads:
        thread.join(timeout=60)
    stored = {r["id"]: r for r in srv.runs("counted")}
    assert set(acked.values()) <= set(stored)  # nothing answered 202 was lost

    srv.start()  # the next server runs what was queued, once
    wait_for(lambda: all(r["status"] in ("succeeded", "interrupted") for r in srv.runs("counted")),
             "every run ended", timeout=300)
    runs = {r["id"]: r for r in srv.runs("counted")}
    marks = (srv.project / "marks.txt").read_text().split()
    for n, run_id in acked.items():  # succeeded: ran once; interrupted (executing at the kill): at most once
        assert marks.count(str(n)) in ({1} if runs[run_id]["status"] == "succeeded" else {0, 1})
    assert len([r for r in runs.values() if r["status"] == "interrupted"]) <= 2  # concurrency: 2
    n = next(iter(acked))  # the sender retries a delivery: a duplicate, not a second run
    again = requests.post(f"{srv.url}/hooks/count", data=json.dumps({"n": n}), timeout=30,
                          headers={"X-Delivery-Id": f"d-{n}"})
    assert again.status_code == 200 and again.json()["run_id"] == acked[n]
