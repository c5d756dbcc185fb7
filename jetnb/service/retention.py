"""Retention: which ended runs go, and removing each one whole — its store rows, run log, journal and run folder.

``jetnb prune`` and ``jetnb serve`` (at start and every hour of its clock)
both prune through ``prune`` here, so what a dry run lists is what a prune
removes. A workflow's policy is the ``retention:`` of the notebook its newest
run came from; a workflow without one gets the default given (``--keep-runs``
/ ``--retention-days``), or keeps everything. Rows go first, in one
transaction that skips any run no longer ended; then the files of the runs
actually removed. One audit entry records each prune that removed anything.
"""

from __future__ import annotations

import logging
import shutil
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..durations import compact_duration
from ..executor.notebook_io import is_local
from ..model.retention import RetentionPolicy, Rule
from ..model.workflow import Workflow
from ..store import Store
from ..store.rows import iso

log = logging.getLogger("jetnb")
AUDIT_IDS = 1000  # run ids listed in one audit entry; the counts are always whole


@dataclass(frozen=True)
class Doomed:
    """A run a policy lets go, and why."""

    run_id: str
    workflow: str
    status: str
    ended_at: float
    log_path: str | None
    why: str


@dataclass
class PruneReport:
    dry_run: bool
    runs: list[Doomed] = field(default_factory=list)  # chosen (for a dry run: what would go)
    removed: list[str] = field(default_factory=list)  # removed from the store (none for a dry run)
    files: int = 0  # run logs, journals and run folders removed
    problems: list[str] = field(default_factory=list)  # files that could not be removed

    def to_dict(self) -> dict[str, Any]:
        runs = [{**asdict(d), "ended_at": iso(d.ended_at)} for d in self.runs]
        return {"dry_run": self.dry_run, "runs": runs, "removed": len(self.removed), "files": self.files,
                "problems": self.problems}


def default_policy(keep_runs: int | None, retention_days: float | None) -> RetentionPolicy | None:
    """The server-wide (or command-wide) rule for workflows without ``retention:`` of their own."""
    rule = Rule(keep_runs, retention_days * 86400 if retention_days is not None else None)
    return RetentionPolicy(rule) if rule.limits else None


def policy_for(store: Store, workflow: str, default: RetentionPolicy | None) -> RetentionPolicy | None:
    """The workflow's own ``retention:`` (from the notebook of its newest run), else ``default``."""
    newest = store.latest_run(workflow)
    notebook = newest["notebook"] if newest else ""
    if notebook and is_local(notebook) and Path(notebook).is_file():
        own = RetentionPolicy.from_config(Workflow.load(notebook).config.values.get("retention"))
        if own is not None:
            return own
    return default


def select(store: Store, *, now: float, default: RetentionPolicy | None = None,
           workflow: str | None = None) -> list[Doomed]:
    """Every ended run the policies let go, workflow by workflow, newest first within each."""
    doomed: list[Doomed] = []
    for name in [workflow] if workflow else store.workflows_with_runs():
        policy = policy_for(store, name, default)
        for statuses, rule in policy.groups() if policy else []:
            cutoff = now - rule.max_age if rule.max_age is not None else None
            for row in store.prune_candidates(name, statuses, keep_last=rule.keep_last, ended_before=cutoff):
                doomed.append(Doomed(row["id"], name, row["status"], row["ended_at"], row["log_path"],
                                     _why(row, rule, statuses, now)))
    return doomed


def _why(row: dict[str, Any], rule: Rule, statuses: tuple[str, ...], now: float) -> str:
    if rule.keep_last is not None and row["rank"] > rule.keep_last:
        return f"beyond the newest {rule.keep_last} {'/'.join(statuses)} runs"
    age = compact_duration(max(round(now - row["ended_at"]), 1))
    return f"ended {age} ago (max_age {compact_duration(rule.max_age)})"


def prune(store: Store, *, now: float, by: str, default: RetentionPolicy | None = None, workflow: str | None = None,
          dry_run: bool = False) -> PruneReport:
    """Remove (or, ``dry_run``, only list) what the policies let go; never a queued, running or waiting run."""
    report = PruneReport(dry_run, select(store, now=now, default=default, workflow=workflow))
    if dry_run or not report.runs:
        return report
    report.removed = store.delete_runs([d.run_id for d in report.runs])
    gone = set(report.removed)
    for doomed in report.runs:
        if doomed.run_id in gone:
            report.files += remove_run_files(doomed.run_id, doomed.log_path, report.problems)
    if report.removed:
        _audit(store, by, report, workflow)
    return report


def remove_run_files(run_id: str, log_path: str | None, problems: list[str]) -> int:
    """A run's log, its leftover temporary saves, its ``<log>.journal/`` and its ``runs/<workflow>/<run-id>/``
    folder; returns how many were removed, adding what could not be to ``problems``."""
    if not log_path:
        return 0
    if not is_local(log_path):
        return _remove_remote(run_id, log_path, problems)
    run_log = Path(log_path)
    folder = run_log.with_suffix("")
    targets = [run_log, run_log.with_suffix(".journal"), *run_log.parent.glob(f".{run_log.name}.*.tmp")]
    if folder.name == run_id:  # only a folder named after the run, whatever the log path looks like
        targets.append(folder)
    removed = 0
    for target in targets:
        try:
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            else:
                continue
        except OSError as exc:
            problems.append(f"run {run_id}: cannot remove {target}: {exc.strerror or exc}")
            continue
        removed += 1
    return removed


def _remove_remote(run_id: str, log_path: str, problems: list[str]) -> int:
    """The same files at a URL (``jetnb.location``): the log, the journal, the run's folder."""
    from .. import location
    from ..runfiles import journal_dir, run_folder

    targets = [log_path, journal_dir(log_path)]
    if run_folder(log_path).rstrip("/").endswith("/" + run_id):
        targets.append(run_folder(log_path))
    removed = 0
    for target in targets:
        try:
            removed += location.remove_tree(target)
        except OSError as exc:
            problems.append(f"run {run_id}: cannot remove {target}: {exc}")
    return removed


def _audit(store: Store, by: str, report: PruneReport, workflow: str | None) -> None:
    gone = set(report.removed)
    kept = [d for d in report.runs if d.run_id in gone]
    store.audit(by, "runs.pruned", f"workflow:{workflow}" if workflow else "runs", {
        "message": f"{len(gone)} run(s) pruned ({report.files} file(s) and folder(s))",
        "runs": len(gone), "files": report.files, "problems": report.problems,
        "workflows": dict(Counter(d.workflow for d in kept)), "statuses": dict(Counter(d.status for d in kept)),
        "ids": report.removed[:AUDIT_IDS]})
