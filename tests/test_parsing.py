"""A large batch of notebooks parsed on every core: the same findings, in the same order, as parsing each here,
whichever process parsed which chunk; a worker that dies leaves its chunks to the server; no worker outlives the
registration."""

from __future__ import annotations

import logging
import os
import signal
import time
from pathlib import Path

import pytest

from conftest import notebook
from servekit import wait_for
from jetnb.clock import SystemClock
from jetnb.control import parsing
from jetnb.control.parsing import MIN_SHARED, Parser, Unparsed, parse
from jetnb.control.plane import ControlPlane
from jetnb.jupyter.workflows import declares_workflow

COUNT = 2 * MIN_SHARED


def kinds_of_notebooks(folder: Path, count: int) -> list[Unparsed]:
    """Valid workflows of two trigger kinds, notebooks with problems, and plain notebooks without ``%%workflow``."""
    folder.mkdir(exist_ok=True)
    for number in range(count):
        name = f"n{number:04d}"
        cells = {0: ["%%workflow\n" + f"name: {name}\ntriggers:\n  - schedule: {{cron: '0 3 * * *'}}", "1 + 1"],
                 1: ["%%workflow\n" + f"name: {name}\ntriggers:\n  - webhook: {{name: h{number}, auth: none}}",
                     ("params", "n: int = 0"), "n * 2"],
                 2: ["%%workflow\n" + f"name: {name}\ntriggers:\n  - schedul: {{cron: '0 3 * * *'}}", "1 +"],
                 3: ["print('no workflow here')"]}[number % 4]
        notebook(cells, folder / f"{name}.ipynb")
    return [Unparsed(path, path.read_bytes()) for path in sorted(folder.glob("*.ipynb"))]


def findings(parsed) -> list[tuple]:
    return [(p.name, p.config, p.triggers, p.problems, p.admitted) for p in parsed]


def spawned_workers() -> list[int]:
    """This process's children that are parse workers (not yet reaped ones included)."""
    found = []
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        for child in (task / "children").read_text().split():
            try:
                if b"jetnb.control.parse_worker" in Path(f"/proc/{child}/cmdline").read_bytes():
                    found.append(int(child))
            except FileNotFoundError:
                continue
    return found


def shared(parser: Parser, batch: list[Unparsed], admit=None) -> list:
    """Parse ``batch`` until a worker took part (it needs a moment to start: until then this process parses all)."""
    for _ in range(60):  # bounded: a worker starts within seconds
        parsed = parser.parse(batch, admit)
        if any(p.model is None and p.admitted and not p.problems for p in parsed):
            return parsed
        time.sleep(0.2)
    raise AssertionError("no worker process parsed any chunk")


def test_a_large_batch_parsed_by_workers_finds_what_parsing_here_finds(tmp_path: Path):
    batch = kinds_of_notebooks(tmp_path / "nbs", COUNT)
    here = [parse(notebook) for notebook in batch]
    assert len({p.name for p in here if p.admitted and not p.problems}) == 3 * COUNT // 4  # 1 in 4 has problems
    assert any("schedul" in problem for p in here for problem in p.problems)
    parser = Parser(workers=1)
    try:
        parsed = shared(parser, batch)
        assert findings(parsed) == findings(here)
        admitted = shared(parser, batch, declares_workflow)  # the admit rule travels to the workers
        assert findings(admitted) == findings([parse(notebook, declares_workflow) for notebook in batch])
        assert sum(not p.admitted for p in admitted) == COUNT // 4
    finally:
        parser.rest()
    wait_for(lambda: not spawned_workers(), "the worker stopped")


def test_a_worker_that_dies_leaves_its_chunks_to_this_process(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    batch = kinds_of_notebooks(tmp_path / "nbs", COUNT)
    here = findings(parse(notebook) for notebook in batch)
    parser = Parser(workers=1)
    try:
        shared(parser, batch)
        for pid in spawned_workers():
            os.kill(pid, signal.SIGKILL)
        with caplog.at_level(logging.WARNING, logger="jetnb.serve"):
            assert findings(parser.parse(batch)) == here
            assert findings(parser.parse(batch)) == here
        assert [r.message for r in caplog.records].count(
            next(r.message for r in caplog.records if "worker processes failed" in r.message)) == 1  # said once
        assert parser.workers == 0
        assert all(p.model is not None for p in parser.parse(batch) if p.admitted and not p.problems)  # all here
    finally:
        parser.rest()


def test_a_server_registering_many_new_notebooks_leaves_no_worker_behind(project: Path):
    folder = project / "notebooks"
    kinds_of_notebooks(folder, COUNT)
    plane = ControlPlane(folder, store_path=project / "jetnb.db", runs_dir=project / "runs", max_runs=1,
                         clock=SystemClock())
    try:
        for _ in range(20):  # bounded: a look per PARSE_BATCH notebooks
            plane.sync()
            if not plane.catalog.pending:
                break
        served = plane.catalog.served
        assert sorted(served) == [f"n{n:04d}" for n in range(COUNT) if n % 4 in (0, 1, 3)]
        assert served["n0001"].workflow.parameters[0].name == "n"  # the model, whoever parsed the notebook
        assert plane.catalog.hook("h1") is not None and len(plane.store().triggers()) == COUNT // 2
        wait_for(lambda: not spawned_workers(), "the workers stopped once every notebook was registered")
    finally:
        plane.close()


def test_a_worker_that_stalls_is_given_up(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    batch = kinds_of_notebooks(tmp_path / "nbs", COUNT)
    here = findings(parse(notebook) for notebook in batch)
    parser = Parser(workers=1)
    try:
        shared(parser, batch)  # with the usual patience: a slow machine's healthy worker is not given up here
        monkeypatch.setattr(parsing, "STALLED", 0.5)
        stopped = spawned_workers()
        for pid in stopped:
            os.kill(pid, signal.SIGSTOP)  # alive, silent: its chunk never comes back
        assert findings(parser.parse(batch)) == here
        assert parser.workers == 0 and not any(Path(f"/proc/{pid}").exists() and
                                               b"T (stopped)" in Path(f"/proc/{pid}/status").read_bytes()
                                               for pid in stopped)  # killed, not left stopped
    finally:
        parser.rest()
