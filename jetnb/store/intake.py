"""Acknowledged submissions written as a batch: a group commit's runs and delivery ids in a few statements,
whatever the batch's size.

The group committer (``service/commits.py``) hands over every submission
that arrived while it was committing the previous batch. Written one by
one, each needed its own savepoint and half a dozen statements; here the
whole batch is one look-up of its delivery ids, one draw of run ids and
one insert per table. A submission refused while its workflow is paused
is ``WorkflowPaused``, read in the same transaction as the write. A
submission whose delivery id (or signed body) was
accepted before, or earlier in the same batch, is not written: its
outcome is ``AlreadyDelivered`` naming the first run, as ``record_delivery``
says for one.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from typing import Any, Callable

from .deliveries import AlreadyDelivered
from .runs import run_row, this_process


@dataclass(frozen=True)
class NewRun:
    """One submission: ``create_run``'s fields (without the id and the log's path, which names the id) and the keys
    that dedupe it."""

    fields: dict[str, Any]
    log_path: Callable[[str], str]  # the run log's path or URL, given the run id
    deliveries: tuple[tuple[str, str], ...] = ()  # (hook, delivery id or replay key), recorded with the run
    unless_paused: bool = False  # refused (WorkflowPaused) if its workflow is paused when the batch is written


class WorkflowPaused(Exception):
    """A submission refused because its workflow was paused (``jetnb pause``, the API, a failure streak)."""

    def __init__(self, workflow: str):
        super().__init__(f"workflow {workflow!r} is paused; unpause it to accept deliveries")
        self.workflow = workflow


class IntakeTable:
    """Mixin for ``Store``: many new runs at once."""

    conn: sqlite3.Connection
    delivered: Callable[[list[tuple[str, str]]], dict[tuple[str, str], str]]
    free_run_ids: Callable[[int, float], list[str]]
    insert_runs: Callable[[list[dict[str, Any]]], None]
    record_deliveries: Callable[[list[tuple[str, str, str]]], None]
    paused_among: Callable[[set[str]], set[str]]

    def create_runs(self, new: list[NewRun]) -> list[str | AlreadyDelivered | WorkflowPaused]:
        """Write ``new`` in the caller's transaction; per submission its run id, or AlreadyDelivered or
        WorkflowPaused (nothing written for it). Raises RunIdTaken (nothing usable written) if no free ids could be drawn."""
        first = self.delivered([key for item in new for key in item.deliveries])
        paused = self.paused_among({item.fields["workflow"] for item in new if item.unless_paused})
        now = time.time()
        ids = iter(self.free_run_ids(len(new), now))
        process = this_process()
        outcomes: list[str | AlreadyDelivered | WorkflowPaused] = []
        runs, deliveries = [], []
        for item in new:
            if item.unless_paused and item.fields["workflow"] in paused:
                outcomes.append(WorkflowPaused(item.fields["workflow"]))
                continue
            seen = next((key for key in item.deliveries if key in first), None)
            if seen is not None:
                outcomes.append(AlreadyDelivered(*seen, first[seen]))
                continue
            run_id = next(ids)
            runs.append(run_row(run_id, now, log_path=item.log_path(run_id), process=process, **item.fields))
            for key in item.deliveries:
                first[key] = run_id
                deliveries.append((*key, run_id))
            outcomes.append(run_id)
        self.insert_runs(runs)
        self.record_deliveries(deliveries)
        return outcomes
