"""Acknowledged submissions are group-committed: many writes per durable commit, each caller told only after its
commit, a failing write rolled back alone, a delivery id in flight twice started once; a batch of new runs is
written in a few statements, deduplicated and refused while paused there, and logged in one line; futures resolved
in a burst wake the event loop once; and a real server killed with SIGKILL while senders post keeps every run it
answered 202 for, and runs each once."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest
import requests

from servekit import wait_for
from jetnb.http.handoff import Handoff
from jetnb.service.commits import GroupCommit
from jetnb.store import AlreadyDelivered, Database, Store, WorkflowPaused
from jetnb.store.intake import NewRun

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


def _new(workflow: str, *keys: str, unless_paused: bool = False) -> NewRun:
    return NewRun({"workflow": workflow, "notebook": f"{workflow}.ipynb", "params": {"k": list(keys)},
                   "trigger": "webhook", "durable": True}, lambda run_id: f"runs/{workflow}/{run_id}.ipynb",
                  tuple(("hook", key) for key in keys), unless_paused)


def _fired(run_id: str) -> tuple[str, str, str, dict]:
    return "jetnb serve", "workflow.fire", "workflow:w", {"message": f"w webhook hook -> run {run_id}"}


def test_a_batch_of_new_runs_is_deduplicated_refused_while_paused_and_logged_once(project: Path, caplog):
    db = Database(project / "jetnb.db")
    store = db.store()
    earlier = _run(store, "earlier")
    store.record_delivery("hook", "seen", earlier)
    for name in ("w", "stopped"):
        store.register_workflow(name, f"{name}.ipynb", "digest", {}, [])
    store.set_paused("stopped", True, "by hand")
    commits = GroupCommit(db)
    gate, started = threading.Event(), []
    commits.submit(lambda s: gate.wait(10))  # holds the committer: everything below shares the next batch
    first = commits.accept(_new("w", "d-1"), then=started.append, note=_fired)
    twin = commits.accept(_new("w", "d-1"), then=started.append, note=_fired)  # the same id, in flight at once
    again = commits.accept(_new("w", "seen"), then=started.append, note=_fired)  # accepted by an earlier commit
    paused = commits.accept(_new("stopped", "d-2", unless_paused=True), then=started.append, note=_fired)
    api = commits.accept(_new("stopped"), then=started.append)  # not a delivery: a pause does not refuse it
    other = commits.submit(lambda s: _run(s, "generic"))
    with caplog.at_level(logging.INFO, logger="jetnb"):
        gate.set()
        run_id = first.result(timeout=60)
        with pytest.raises(AlreadyDelivered) as twin_refused:
            twin.result(timeout=60)
        with pytest.raises(AlreadyDelivered) as again_refused:
            again.result(timeout=60)
        with pytest.raises(WorkflowPaused):
            paused.result(timeout=60)
        commits.close()
    assert twin_refused.value.run_id == run_id and again_refused.value.run_id == earlier
    assert started == [run_id, api.result()]  # handed on after the commit, in order; the refused ones never
    assert commits.batches <= 2 and commits.writes == 7
    runs = {r["id"]: r for r in Store(project / "jetnb.db").list_runs(limit=100)}
    assert set(runs) == {earlier, run_id, api.result(), other.result()}
    assert runs[run_id]["log_path"] == f"runs/w/{run_id}.ipynb" and runs[run_id]["status"] == "queued"
    assert store.delivery_run("hook", "d-1") == run_id and store.delivery_run("hook", "d-2") is None
    fired = [e for e in store.audit_log(action="workflow.fire")]
    assert [e["detail"]["message"] for e in fired] == [f"w webhook hook -> run {run_id}"]
    assert [r.getMessage() for r in caplog.records if "fire:" in r.getMessage()] == [
        f"fire: w webhook hook -> run {run_id}"]  # one line for the batch
    db.close()


def test_a_burst_of_futures_resolved_by_another_thread_wakes_the_loop_once():
    class Counted(Handoff):
        deliveries = 0

        def _deliver(self) -> None:
            Counted.deliveries += 1
            super()._deliver()

    async def main() -> list:
        handoff = Counted(asyncio.get_running_loop())
        futures: list[Future] = [Future() for _ in range(200)]
        waiters = [handoff.wait(f) for f in futures]
        resolved = threading.Event()

        def resolve() -> None:  # the way the group committer resolves a batch: one after another, at once
            for number, future in enumerate(futures):
                if number == 7:
                    future.set_exception(AlreadyDelivered("hook", "d", "first"))
                else:
                    future.set_result(number)
            resolved.set()

        threading.Thread(target=resolve).start()
        await asyncio.get_running_loop().run_in_executor(None, resolved.wait, 10)
        return await asyncio.gather(*waiters, return_exceptions=True)

    results = asyncio.run(main())
    assert [r for n, r in enumerate(results) if n != 7] == [n for n in range(200) if n != 7]
    assert isinstance(results[7], AlreadyDelivered) and results[7].run_id == "first"
    assert Counted.deliveries < 200  # the loop was woken per burst, not per future (the loop was busy meanwhile)


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
    ended = ("succeeded", "interrupted", "failed", "cancelled")
    try:
        wait_for(lambda: all(r["status"] in ended for r in srv.runs("counted")), "every run ended", timeout=300)
    except AssertionError:
        statuses = sorted(f"{r['id']} {r['status']}" for r in srv.runs("counted") if r["status"] not in ended)
        raise AssertionError(f"runs that never ended: {statuses}\n{srv.log()[-6000:]}") from None
    runs = {r["id"]: r for r in srv.runs("counted")}
    assert [(r["id"], r["status"], r["error"]) for r in runs.values()
            if r["status"] not in ("succeeded", "interrupted")] == [], srv.log()
    marks = (srv.project / "marks.txt").read_text().split()
    for n, run_id in acked.items():  # succeeded: ran once; interrupted (executing at the kill): at most once
        assert marks.count(str(n)) in ({1} if runs[run_id]["status"] == "succeeded" else {0, 1})
    assert len([r for r in runs.values() if r["status"] == "interrupted"]) <= 2  # concurrency: 2
    n = next(iter(acked))  # the sender retries a delivery: a duplicate, not a second run
    again = requests.post(f"{srv.url}/hooks/count", data=json.dumps({"n": n}), timeout=30,
                          headers={"X-Delivery-Id": f"d-{n}"})
    assert again.status_code == 200 and again.json()["run_id"] == acked[n]
