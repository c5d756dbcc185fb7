"""Approval requests and the audit log: who may decide, decisions that are final, timeouts that expire."""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Callable

from ..clock import now
from .rows import iso

_JSON = ("approvers", "details")


class ApprovalError(PermissionError):
    """A decision that is not allowed; the message says why (not an approver, already decided, self-approval)."""


def _row(row: sqlite3.Row) -> dict[str, Any]:
    out = dict(row)
    for key in _JSON:
        if out.get(key) is not None:
            out[key] = json.loads(out[key])
    out["allow_self"] = bool(out["allow_self"])
    return out


def decision_of(approval: dict[str, Any]) -> dict[str, Any] | None:
    """What the gate acts on: ``approved`` true/false, or ``fail`` for a timeout under ``--on-timeout fail``."""
    status = approval["status"]
    if status == "pending":
        return None
    if status == "expired":
        outcome = approval["on_timeout"]
        approved = {"approve": True, "reject": False}.get(outcome)
    else:
        outcome, approved = ("approve", True) if status == "approved" else ("reject", False)
    return {"id": approval["id"], "status": status, "outcome": outcome, "approved": approved,
            "by": approval["decided_by"], "comment": approval["comment"], "at": approval["decided_at"]}


def public_approval(approval: dict[str, Any]) -> dict[str, Any]:
    """The request as shown to people and JSON clients (the API, the widgets): ISO times."""
    return {**approval, **{key: iso(approval[key]) for key in ("requested_at", "expires_at", "decided_at")}}


class ApprovalsMixin:
    """Store methods for approvals; mixed into ``Store`` so one connection serves everything."""

    conn: sqlite3.Connection
    transaction: Callable[[], Any]  # Store's

    def request_approval(self, *, run_id: str, workflow: str, step: str, approvers: list[str], message: str,
                         details: dict[str, Any], on_timeout: str, allow_self: bool, started_by: str | None,
                         trigger: str | None, timeout: float | None) -> dict[str, Any]:
        """Create the request for (run, step), or return the existing one: asking twice never makes two."""
        requested = now()
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO approvals (run_id, workflow, step, approvers, message, details, status, "
                "on_timeout, allow_self, started_by, trigger, requested_at, expires_at) "
                "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?)",
                (run_id, workflow, step, json.dumps(approvers), message, json.dumps(details, default=str),
                 on_timeout, int(allow_self), started_by, trigger, requested,
                 requested + timeout if timeout else None))
            if cursor.rowcount:
                self.audit(started_by, "approval.requested", f"approval:{cursor.lastrowid}",
                           {"run_id": run_id, "step": step, "approvers": approvers})
        return self.approval_for(run_id, step)

    def approval_for(self, run_id: str, step: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM approvals WHERE run_id = ? AND step = ?", (run_id, step)).fetchone()
        return _row(row) if row else {}

    def get_approval(self, approval_id: int) -> dict[str, Any]:
        self.expire_due()
        row = self.conn.execute("SELECT * FROM approvals WHERE id = ?", (approval_id,)).fetchone()
        if row is None:
            raise LookupError(f"no approval request {approval_id}")
        return _row(row)

    def run_decisions(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Decisions made for a run's gates, by step name: handed to the kernel when the run resumes."""
        self.expire_due()
        rows = self.conn.execute("SELECT * FROM approvals WHERE run_id = ?", (run_id,))
        return {r["step"]: d for r in rows if (d := decision_of(_row(r)))}

    def list_approvals(self, *, user: str | None = None, pending_only: bool = True, limit: int = 200
                       ) -> list[dict[str, Any]]:
        self.expire_due()
        sql = "SELECT * FROM approvals" + (" WHERE status = 'pending'" if pending_only else "")
        rows = [_row(r) for r in self.conn.execute(sql + " ORDER BY requested_at DESC, id DESC LIMIT ?", (limit,))]
        return [r for r in rows if user is None or user in r["approvers"]]

    def decide(self, approval_id: int, user: str, approve: bool, comment: str | None = None) -> dict[str, Any]:
        """Record a final decision; raises ApprovalError for anyone who may not decide, or a second decision."""
        approval = self.get_approval(approval_id)
        if user not in approval["approvers"]:
            raise ApprovalError(f"{user!r} is not an approver of request {approval_id} "
                                f"(approvers: {', '.join(approval['approvers'])})")
        if not approval["allow_self"] and approval["started_by"] == user:
            raise ApprovalError(f"{user!r} started run {approval['run_id']} and this workflow forbids "
                                "approving one's own runs")
        status = "approved" if approve else "rejected"
        with self.transaction() as conn:
            updated = conn.execute(
                "UPDATE approvals SET status = ?, decided_at = ?, decided_by = ?, comment = ? "
                "WHERE id = ? AND status = 'pending'", (status, now(), user, comment, approval_id)).rowcount
            if updated:
                self.audit(user, f"approval.{status}", f"approval:{approval_id}", {"comment": comment})
        if not updated:
            current = self.get_approval(approval_id)
            raise ApprovalError(f"request {approval_id} was already decided: {current['status']}"
                                + (f" by {current['decided_by']}" if current["decided_by"] else ""))
        return self.get_approval(approval_id)

    def expire_due(self) -> list[int]:
        """Pending requests past their timeout become ``expired``; their ``on_timeout`` says what that means."""
        moment = now()
        with self.transaction() as conn:
            due = [r["id"] for r in conn.execute(
                "SELECT id FROM approvals WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= ?",
                (moment,))]
            for approval_id in due:
                conn.execute("UPDATE approvals SET status = 'expired', decided_at = ?, decided_by = 'timeout' "
                             "WHERE id = ?", (moment, approval_id))
                self.audit("timeout", "approval.expired", f"approval:{approval_id}")
        return due
