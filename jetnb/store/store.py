"""``Store``: one SQLite connection and the tables behind it (runs, steps, actions, artifacts, approvals, served
workflows, trigger state, users, audit, pruning), each table a mixin in its own module."""

from __future__ import annotations

import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .actions import ActionsTable
from .artifacts import ArtifactsTable
from .approvals import ApprovalsTable
from .audit import AuditLog
from .db import connect, default_store_path
from .deliveries import DeliveriesTable
from .fires import FiresTable
from .intake import IntakeTable
from .pruning import PruningTable
from .runs import RunsTable
from .snapshots import SnapshotsTable
from .steps import StepsTable
from .users import UsersTable
from .workflows import WorkflowsTable


class Store(RunsTable, StepsTable, ActionsTable, ArtifactsTable, ApprovalsTable, WorkflowsTable, FiresTable,
            DeliveriesTable, IntakeTable, SnapshotsTable, UsersTable, AuditLog, PruningTable):
    """The SQLite store; cheap to open, safe to share between processes (WAL, busy timeout).

    One ``Store`` per thread: a transaction belongs to its connection.
    ``durable=True`` makes each commit survive a power cut as well as a crash
    (``synchronous=FULL``), for writes that are acknowledged to a caller.
    """

    def __init__(self, path: str | Path | None = None, *, durable: bool = False):
        self.path = Path(path) if path else default_store_path()
        self.conn = connect(self.path)
        if durable:
            self.conn.execute("PRAGMA synchronous=FULL")

    def close(self) -> None:
        self.conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All writes inside commit together; a nested ``transaction`` joins the outer one."""
        if self.conn.in_transaction:
            yield self.conn
            return
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    @contextmanager
    def savepoint(self) -> Iterator[sqlite3.Connection]:
        """Inside a transaction: writes that succeed or fail alone (one submission of a group commit)."""
        self.conn.execute("SAVEPOINT one")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK TO one")
            self.conn.execute("RELEASE one")
            raise
        self.conn.execute("RELEASE one")
