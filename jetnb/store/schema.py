"""The store's schema as numbered migrations; ``PRAGMA user_version`` says which have been applied.

Append a migration to change the schema; never edit one that has shipped.
"""

from __future__ import annotations

MIGRATIONS: list[str] = [
    # 1: runs and their steps
    """
    CREATE TABLE runs (
        id          TEXT PRIMARY KEY,
        workflow    TEXT NOT NULL,
        notebook    TEXT NOT NULL,
        status      TEXT NOT NULL,
        trigger     TEXT NOT NULL,
        trigger_detail TEXT,
        params      TEXT NOT NULL,
        result      TEXT,
        outputs     TEXT,
        error       TEXT,
        log_path    TEXT,
        rerun_of    TEXT REFERENCES runs(id),
        created_at  REAL NOT NULL,
        started_at  REAL,
        finished_at REAL,
        duration    REAL,
        host        TEXT,
        pid         INTEGER
    );
    CREATE INDEX runs_by_time ON runs(created_at DESC, id DESC);
    CREATE INDEX runs_by_workflow ON runs(workflow, created_at DESC, id DESC);
    CREATE INDEX runs_by_status ON runs(status, created_at DESC, id DESC);
    CREATE TABLE steps (
        run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        seq         INTEGER NOT NULL,
        name        TEXT NOT NULL,
        kind        TEXT NOT NULL DEFAULT 'step',
        cell        INTEGER,
        status      TEXT NOT NULL,
        started_at  REAL,
        finished_at REAL,
        duration    REAL,
        error       TEXT,
        detail      TEXT,
        PRIMARY KEY (run_id, seq)
    );
    """,
]
