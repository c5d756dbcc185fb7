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
    # 2: approval requests, the audit log, and who started a run (for self-approval rules)
    """
    ALTER TABLE runs ADD COLUMN started_by TEXT;
    CREATE TABLE approvals (
        id           INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id       TEXT NOT NULL,
        workflow     TEXT NOT NULL,
        step         TEXT NOT NULL,
        approvers    TEXT NOT NULL,
        message      TEXT NOT NULL,
        details      TEXT,
        status       TEXT NOT NULL,
        on_timeout   TEXT NOT NULL DEFAULT 'reject',
        allow_self   INTEGER NOT NULL DEFAULT 1,
        started_by   TEXT,
        trigger      TEXT,
        requested_at REAL NOT NULL,
        expires_at   REAL,
        decided_at   REAL,
        decided_by   TEXT,
        comment      TEXT,
        UNIQUE (run_id, step)
    );
    CREATE INDEX approvals_by_status ON approvals(status, requested_at);
    """,
    # 3: what `jetnb serve` keeps: served workflows and their pause state, triggers, time-trigger fires
    # (the idempotency key), webhook deliveries and data-change snapshots
    """
    CREATE TABLE workflows (
        name        TEXT PRIMARY KEY,
        path        TEXT NOT NULL,
        hash        TEXT NOT NULL,
        config      TEXT NOT NULL,
        registered_at REAL NOT NULL,
        updated_at  REAL NOT NULL,
        removed_at  REAL,
        paused      INTEGER NOT NULL DEFAULT 0,
        paused_at   REAL,
        pause_reason TEXT,
        consecutive_failures INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE triggers (
        workflow    TEXT NOT NULL REFERENCES workflows(name) ON DELETE CASCADE,
        key         TEXT NOT NULL,
        kind        TEXT NOT NULL,
        spec        TEXT NOT NULL,
        registered_at REAL NOT NULL,
        baseline_at REAL,
        PRIMARY KEY (workflow, key)
    );
    CREATE TABLE fires (
        id          INTEGER PRIMARY KEY,
        workflow    TEXT NOT NULL,
        trigger_key TEXT NOT NULL,
        scheduled_at REAL NOT NULL,
        fired_at    REAL NOT NULL,
        outcome     TEXT NOT NULL,
        reason      TEXT,
        run_id      TEXT REFERENCES runs(id),
        UNIQUE (workflow, trigger_key, scheduled_at)
    );
    CREATE TABLE deliveries (
        hook        TEXT NOT NULL,
        delivery_id TEXT NOT NULL,
        run_id      TEXT NOT NULL REFERENCES runs(id),
        received_at REAL NOT NULL,
        PRIMARY KEY (hook, delivery_id)
    );
    CREATE TABLE snapshots (
        workflow    TEXT NOT NULL,
        trigger_key TEXT NOT NULL,
        record_key  TEXT NOT NULL,
        hash        TEXT NOT NULL,
        record      TEXT NOT NULL,
        PRIMARY KEY (workflow, trigger_key, record_key)
    );
    CREATE TABLE audit (
        id      INTEGER PRIMARY KEY AUTOINCREMENT,
        at      REAL NOT NULL,
        actor   TEXT,
        action  TEXT NOT NULL,
        subject TEXT NOT NULL,
        detail  TEXT
    );
    CREATE INDEX audit_by_subject ON audit(subject, at);
    """,
    # 4: the runs page filters by trigger too; keep that a keyset walk down an index
    """
    CREATE INDEX runs_by_trigger ON runs(trigger, created_at DESC, id DESC);
    """,
    # 5: one run lifecycle: admission under concurrency/overlap read from the store, durable (server-accepted) queued
    # runs, resuming flagged in the row, cancel requests seen by whichever process executes the run, approver groups
    """
    ALTER TABLE runs ADD COLUMN exclusive INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN durable INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN resuming INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE runs ADD COLUMN cancel_requested_at REAL;
    ALTER TABLE runs ADD COLUMN cancelled_by TEXT;
    ALTER TABLE runs ADD COLUMN cancel_reason TEXT;
    ALTER TABLE runs ADD COLUMN worker TEXT;
    UPDATE runs SET durable = 1 WHERE trigger NOT IN ('manual', 'rerun', 'handler', 'widget');
    CREATE INDEX runs_active ON runs(workflow, status);
    ALTER TABLE approvals ADD COLUMN groups TEXT;
    CREATE TABLE actions (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        step        TEXT,
        action      TEXT NOT NULL,
        target      TEXT,
        status      TEXT NOT NULL,
        started_at  REAL,
        duration    REAL,
        attempts    INTEGER,
        error       TEXT,
        detail      TEXT
    );
    CREATE INDEX actions_by_run ON actions(run_id, id);
    """,
    # 6: people: names, groups and the salted hash of their personal API token
    """
    CREATE TABLE users (
        name        TEXT PRIMARY KEY,
        groups      TEXT NOT NULL,
        token_id    TEXT NOT NULL UNIQUE,
        salt        TEXT NOT NULL,
        token_hash  TEXT NOT NULL,
        created_at  REAL NOT NULL,
        rotated_at  REAL
    );
    """,
    # 7: how a run executes beyond its notebook and parameters (``jetnb run --cwd/-k/--start-timeout/
    # --execution-timeout``), kept so that resuming or rerunning it executes it the same way
    """
    ALTER TABLE runs ADD COLUMN options TEXT;
    """,
    # 8: retention (``jetnb prune``) removes ended runs; a webhook delivery id outlives its run, so that a retry of
    # a delivery whose run was pruned still starts nothing: its run_id becomes NULL instead of pointing nowhere
    """
    CREATE TABLE deliveries_kept (
        hook        TEXT NOT NULL,
        delivery_id TEXT NOT NULL,
        run_id      TEXT REFERENCES runs(id) ON DELETE SET NULL,
        received_at REAL NOT NULL,
        PRIMARY KEY (hook, delivery_id)
    );
    INSERT INTO deliveries_kept (hook, delivery_id, run_id, received_at)
        SELECT hook, delivery_id, run_id, received_at FROM deliveries;
    DROP TABLE deliveries;
    ALTER TABLE deliveries_kept RENAME TO deliveries;
    """,
    # 9: run artifacts (``jetnb.artifact``): the files are beside the run log, under ``<run-id>/artifacts/``; the
    # store keeps what each is, so listing them never reads the folder. Replacing a name replaces its row.
    """
    CREATE TABLE artifacts (
        run_id      TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        name        TEXT NOT NULL,
        size        INTEGER NOT NULL,
        mime        TEXT NOT NULL,
        sha256      TEXT NOT NULL,
        step        TEXT,
        description TEXT,
        created_at  REAL NOT NULL,
        PRIMARY KEY (run_id, name)
    );
    """,
    # 10: each served notebook's size and modification time when it was registered, so a restarting server serves
    # a notebook not written since from its record without reading it (NULL: read it and compare the digest)
    """
    ALTER TABLE workflows ADD COLUMN mtime_ns INTEGER;
    ALTER TABLE workflows ADD COLUMN size INTEGER;
    """,
]
