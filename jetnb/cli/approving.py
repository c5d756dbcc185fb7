"""``jetnb approvals``, ``approve`` and ``reject``: the approvals feed and decisions from a terminal."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from .common import EXIT_FAILED, fail, inline_service, json_option, open_store, report, runs_dir_option, store_option


@click.command()
@click.option("--for", "user", help="only requests this user may decide")
@click.option("--all", "show_all", is_flag=True, help="decided and expired requests too")
@store_option
@json_option
def approvals(user: str | None, show_all: bool, store_path: Path | None, as_json: bool) -> None:
    """The approvals feed: pending requests (newest first) with what they ask and who may decide."""
    from ..render import approvals_table

    found = open_store(store_path).list_approvals(user=user, pending_only=not show_all)
    click.echo(json.dumps(found, indent=2, default=str) if as_json else approvals_table(found))


def _decide(approval_id: int, user: str, approve: bool, comment: str | None, store_path: Path | None,
            runs_dir: Path, then_resume: bool) -> None:
    from ..store import ApprovalError

    service = inline_service(store_path, runs_dir)
    try:
        decided = service.decide(approval_id, user, approve, comment, resume=False)
    except ApprovalError as exc:
        fail(str(exc), EXIT_FAILED)
    except LookupError as exc:
        fail(str(exc))
    click.echo(f"request {approval_id} {decided['status']} by {user}; run {decided['run_id']} can resume")
    if then_resume:
        from ..service.runs import ResumeError

        try:
            report(service.store(), service.resume(decided["run_id"], by=user), False)
        except ResumeError as exc:
            fail(str(exc))


def _decision_command(approve: bool) -> Any:
    verb = "approve" if approve else "reject"

    @click.command(name=verb, help=f"{verb.capitalize()} an approval request; the decision is final and audited.")
    @click.argument("approval_id", type=int)
    @click.option("--as", "user", required=True, help="who decides (must be one of the request's approvers)")
    @click.option("--comment", help="why, for the audit log and the run")
    @click.option("--resume", "then_resume", is_flag=True, help="resume the run here right away")
    @runs_dir_option
    @store_option
    def command(approval_id: int, user: str, comment: str | None, then_resume: bool, runs_dir: Path,
                store_path: Path | None) -> None:
        _decide(approval_id, user, approve, comment, store_path, runs_dir, then_resume)

    return command


approve = _decision_command(True)
reject = _decision_command(False)
