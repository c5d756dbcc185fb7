"""Parsing a batch of notebooks for the catalog: here, and on the other cores when the batch is large.

Parsing a notebook (JSON, nbformat's schema, the ``%%workflow`` YAML,
compiling every cell) is pure Python holding the GIL, a few tenths of a
millisecond each: a server's first start on 10,000 new notebooks spends
seconds on it, so threads would not help but processes do. A batch of at
least ``MIN_SHARED`` notebooks is cut into chunks; each worker process
(``parse_worker.py``) is handed one chunk at a time from the front, once it
has said it is ready, while the calling thread parses chunks from the back.
A worker still starting costs nothing, the batch ends within a chunk of
the last one handed out, and a worker that dies or stalls only leaves its
chunk to be parsed here. The workers stop when the catalog has nothing left
to read (``rest``).

A worker sends back what serving needs (name, config, triggers, problems),
not the model: that is parsed again on first use, as for a notebook served
from the store's record.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any, Callable

from ..model.workflow import Workflow
from ..triggers.registry import kind as trigger_kind

log = logging.getLogger("jetnb.serve")
MIN_SHARED = 200  # notebooks in a batch before workers share it
CHUNK = 25  # notebooks handed to a worker at once
STALLED = 60.0  # seconds without a word from any busy worker before they are given up (a chunk takes milliseconds)

PACKAGE_HOME = Path(__file__).resolve().parents[2]  # the workers' folder, first on their sys.path: jetnb's own
# (not the server's folder, where a notebook project's yaml.py would shadow PyYAML)

Admit = Callable[[Workflow], bool]


@dataclass(frozen=True)
class Unparsed:
    """A notebook to parse: its resolved path and the bytes the catalog read and hashed."""

    path: Path
    data: bytes


@dataclass(frozen=True)
class Parsed:
    """What the catalog serves a notebook from; ``model`` only when it was parsed in this process."""

    name: str
    config: dict[str, Any]
    triggers: list[tuple[str, str, dict[str, Any]]]  # (key, kind, spec): the first trigger of each key
    problems: list[str]  # the notebook is not served while there are any
    admitted: bool = True  # False: not a workflow (see ``Catalog.admit``); then nothing else was looked at
    model: Workflow | None = None


def parse(notebook: Unparsed, admit: Admit | None = None) -> Parsed:
    """Parse and validate one notebook (``Workflow.load``); never raises for what the notebook holds."""
    model = Workflow.load(notebook.path, notebook.data, resolved=True)
    if admit is not None and not admit(model):
        return Parsed(model.name, {}, [], [], admitted=False)
    if model.problems:
        return Parsed(model.name, {}, [], [str(p) for p in model.problems])
    triggers: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for name, spec in model.config.triggers:
        kind = trigger_kind(name)
        key = kind.key(spec)
        triggers.setdefault(key, (key, kind.name, spec))
    return Parsed(model.name, model.config.values, list(triggers.values()), [], model=model)


def parse_chunk(chunk: list[Unparsed], admit: Admit | None) -> list[Parsed]:
    """A worker's share: without the models, which would cost more to send than to parse again."""
    return [replace(parse(notebook, admit), model=None) for notebook in chunk]


class _Worker:
    """``python -m jetnb.control.parse_worker`` on the other end of a socket pair; one chunk at a time."""

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        with theirs:
            self.process = subprocess.Popen([sys.executable, "-m", "jetnb.control.parse_worker", str(theirs.fileno())],
                                            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, cwd=PACKAGE_HOME)
        self.conn = Connection(ours.detach())
        self.ready = False  # it says so once its imports are done
        self.chunk: int | None = None  # the index of the chunk it is parsing

    def stop(self) -> None:
        self.conn.close()  # it ends when its end of the socket closes
        if not self.ready:
            self.process.kill()  # still importing: nothing of it to wait for
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


class Parser:
    """Parses batches of notebooks, sharing large ones with ``workers`` processes (started on the first large
    batch, stopped by ``rest``)."""

    def __init__(self, workers: int = 0):
        self.workers = workers
        self._started: list[_Worker] = []

    @classmethod
    def on_every_core(cls) -> Parser:
        """A worker per core this process may run on, less the one it uses itself."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return cls(workers=cores - 1)

    def parse(self, batch: list[Unparsed], admit: Admit | None = None) -> list[Parsed]:
        """Each notebook's ``Parsed``, in the batch's order."""
        if len(batch) < MIN_SHARED or self.workers < 1:
            return [parse(notebook, admit) for notebook in batch]
        if not self._started:
            try:
                self._started = [_Worker() for _ in range(self.workers)]
            except (OSError, ValueError) as exc:  # no process or socket pair to be had here
                self._give_up(exc)
                return [parse(notebook, admit) for notebook in batch]
        chunks = [batch[start:start + CHUNK] for start in range(0, len(batch), CHUNK)]
        done: list[list[Parsed] | None] = [None] * len(chunks)
        front, back = 0, len(chunks)  # workers take chunks from the front, this thread from the back
        while True:
            for worker in [w for w in self._started if w.ready and w.chunk is None]:
                if front < back and self._hand(worker, chunks, front, admit):
                    front += 1
            busy = [w for w in self._started if w.chunk is not None]
            if front < back:
                back -= 1
                done[back] = [parse(notebook, admit) for notebook in chunks[back]]
                waited = 0.0
            elif not busy:
                break
            else:
                waited = STALLED
            for worker in self._heard(waited):
                self._receive(worker, chunks, done, admit)
        return [parsed for chunk in done for parsed in chunk or ()]

    def _hand(self, worker: _Worker, chunks: list[list[Unparsed]], index: int, admit: Admit | None) -> bool:
        try:
            worker.conn.send((chunks[index], admit))
        except OSError as exc:  # it died since it last spoke
            self._lost(worker, exc)
            return False
        worker.chunk = index
        return True

    def _heard(self, timeout: float) -> list[_Worker]:
        """The workers with something to say (a chunk parsed, ready, or gone); busy ones given up after
        ``timeout`` seconds of silence when that is not 0."""
        talking = {w.conn: w for w in self._started}
        if not talking:
            return []
        said = [talking[conn] for conn in wait(list(talking), timeout)]  # type: ignore[index]
        if not said and timeout:
            for worker in [w for w in self._started if w.chunk is not None]:
                worker.process.kill()  # it is said to be gone below: its chunk is parsed here
                said.append(worker)
        return said

    def _receive(self, worker: _Worker, chunks: list[list[Unparsed]], done: list[list[Parsed] | None],
                 admit: Admit | None) -> None:
        try:
            message = worker.conn.recv()
        except Exception as exc:  # EOFError: it died (or was killed for stalling); its last words may be cut short
            index = worker.chunk
            self._lost(worker, exc)
            if index is not None:
                done[index] = [parse(notebook, admit) for notebook in chunks[index]]
            return
        if worker.chunk is None:
            worker.ready = True  # its first word
        else:
            done[worker.chunk], worker.chunk = message, None

    def _lost(self, worker: _Worker, exc: BaseException) -> None:
        """A worker that died or stalled: no worker is started again by this parser; said once."""
        self._started.remove(worker)
        worker.process.kill()
        worker.stop()
        self._give_up(exc)

    def _give_up(self, exc: BaseException) -> None:
        if self.workers:
            log.warning("parsing notebooks in worker processes failed (%s); parsing them in the server",
                        f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
            self.workers = 0

    def rest(self) -> None:
        """Stop the workers (nothing left to parse); a later large batch starts them again."""
        started, self._started = self._started, []
        for worker in started:
            worker.stop()
