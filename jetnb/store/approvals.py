"""Approval requests: who may decide, decisions that are final, timeouts that expire.

Reads never write: a pending request past its ``expires_at`` is *shown* as
``expired`` (decided by ``timeout``) by every read, and ``expire_due`` — called
by whoever acts on requests (a decision, a resume, the server's loop) —
makes that durable and audits it.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any, Callable

from ..clock import now
from ..secrets.masking import masker
from .rows import iso, to_json

_JSON = ("approvers", "details", "groups")


class ApprovalError(PermissionError):
    """A decision that is not allowed; the message says why (not an approver, already decided, self-approval)."""


def _row(row: sqlite3.Row, moment: float) -> dict[str, Any]:
    out = dict(row)
    for key in _JSON:
        if out.get(key) is not None:
            out[key] = json.loads(out[key])
    out["groups"] = out.get("groups") or []
    out["allow_self"] = bool(out["allow_self"])
    if out["status"] == "pending" and out["expires_at"] is not None and out["expires_at"] <= moment:
        out.update(status="expired", decided_at=out["expires_at"], decided_by="timeout")
    return out


def decision_of(approval: dict[str, Any]) -> dict[str, Any] | None:
    """What the gate acts on: ``approved`` true/false, or ``fail`` for a timeout under ``--on-timeout fail``."""
    status = approval["status"]
    if status in ("pending", "cancelled"):
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


def may_decide(approval: dict[str, Any], user: str, groups: tuple[str, ...] = ()) -> bool:
    """A user named among the approvers, or in one of the request's approver groups by their own account."""
    return user in approval["approvers"] or any(group in approval["groups"] for group in groups)


class ApprovalsTable:
    """Mixin for ``Store``: the ``approvals`` table."""

    conn: sqlite3.Connection
    transaction: Callable[[], Any]
    audit: Callable[..., None]

    def request_approval(self, *, run_id: str, workflow: str, step: str, approvers: list[str], message: str,
                         details: dict[str, Any], on_timeout: str, allow_self: bool, started_by: str | None,
                         trigger: str | None, timeout: float | None, groups: list[str] | None = None
                         ) -> dict[str, Any]:
        """Create the request for (run, step), or return the existing one: asking twice never makes two."""
        requested = now()
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT OR IGNORE INTO approvals (run_id, workflow, step, approvers, message, details, status, "
                "on_timeout, allow_self, started_by, trigger, requested_at, expires_at, groups) "
                "VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?)",
                (run_id, workflow, step, json.dumps(approvers), masker.mask(message), to_json(details),
                 on_timeout, int(allow_self), started_by, trigger, requested,
                 requested + timeout if timeout else None, json.dumps(groups or [])))
            if cursor.rowcount:
                self.audit(started_by, "approval.requested", f"approval:{cursor.lastrowid}",
                           {"run_id": run_id, "step": step, "approvers": approvers, "groups": groups or []})
        return self.approval_for(run_id, step)

    def approval_for(self, run_id: str, step: str) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM approvals WHERE run_id = ? AND step = ?", (run_id, step)).fetchone()
        return _row(row, now()) if row else {}

    def get_approval(self, approval_id: int) -> dict[str, Any]:
        row = self.conn.execute("SELECT * FROM approvals WHERE id = ?", (approval_id,)).fetchone()
        if row is None:
            raise LookupError(f"no approval request {approval_id}")
        return _row(row, now())

    def run_approvals(self, run_id: str) -> list[dict[str, Any]]:
        moment = now()
        rows = self.conn.execute("SELECT * FROM approvals WHERE run_id = ? ORDER BY id", (run_id,))
        return [_row(r, moment) for r in rows]

    def run_decisions(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Decisions made for a run's gates, by step name: handed to the kernel when the run resumes."""
        return {a["step"]: d for a in self.run_approvals(run_id) if (d := decision_of(a))}

    def list_approvals(self, *, user: str | None = None, groups: tuple[str, ...] = (), pending_only: bool = True,
                       limit: int = 200) -> list[dict[str, Any]]:
        """Newest first; ``user`` (with their own ``groups``) keeps the requests they may decide, before the limit."""
        moment = now()
        where, args = [], []
        if pending_only:
            where.append("status = 'pending' AND (expires_at IS NULL OR expires_at > ?)")
            args.append(moment)
        if user is not None:
            names = (user, *groups)
            marks = ", ".join("?" for _ in names)
            where.append(f"(EXISTS (SELECT 1 FROM json_each(approvals.approvers) WHERE value = ?) OR "
                         f"EXISTS (SELECT 1 FROM json_each(COALESCE(approvals.groups, '[]')) WHERE value IN ({marks})))")
            args.extend([user, *names])
        sql = "SELECT * FROM approvals" + (f" WHERE {' AND '.join(where)}" if where else "")
        rows = self.conn.execute(sql + " ORDER BY requested_at DESC, id DESC LIMIT ?", (*args, limit))
        return [_row(r, moment) for r in rows]

    def decide(self, approval_id: int, user: str, approve: bool, comment: str | None = None,
               groups: tuple[str, ...] = ()) -> dict[str, Any]:
        """Record a final decision; raises ApprovalError for anyone who may not decide, or a second decision."""
        self.expire_due()
        approval = self.get_approval(approval_id)
        if not may_decide(approval, user, groups):
            who = ", ".join(approval["approvers"]) + (f" (groups: {', '.join(approval['groups'])})"
                                                      if approval["groups"] else "")
            raise ApprovalError(f"{user!r} is not an approver of request {approval_id} (approvers: {who})")
        if not approval["allow_self"] and approval["started_by"] == user:
            raise ApprovalError(f"{user!r} started run {approval['run_id']} and this workflow forbids "
                                "approving one's own runs")
        status = "approved" if approve else "rejected"
        with self.transaction() as conn:
            updated = conn.execute(
                "UPDATE approvals SET status = ?, decided_at = ?, decided_by = ?, comment = ? "
                "WHERE id = ? AND status = 'pending'",
                (status, now(), user, masker.mask(comment) if comment else comment, approval_id)).rowcount
            if updated:
                self.audit(user, f"approval.{status}", f"approval:{approval_id}", {"comment": comment})
        if not updated:
            current = self.get_approval(approval_id)
            raise ApprovalError(f"request {approval_id} was already decided: {current['status']}"
                                + (f" by {current['decided_by']}" if current["decided_by"] else ""))
        return self.get_approval(approval_id)

    def close_approvals(self, run_id: str, by: str | None) -> None:
        """The run was cancelled: its pending requests can no longer be decided."""
        with self.transaction() as conn:
            ids = [r["id"] for r in conn.execute(
                "SELECT id FROM approvals WHERE run_id = ? AND status = 'pending'", (run_id,))]
            for approval_id in ids:
                conn.execute("UPDATE approvals SET status = 'cancelled', decided_at = ?, decided_by = ? WHERE id = ?",
                             (now(), by, approval_id))
                self.audit(by, "approval.cancelled", f"approval:{approval_id}", {"run_id": run_id})

    def expire_due(self) -> list[int]:
        """Pending requests past their timeout become ``expired`` for good; their ``on_timeout`` says what that means."""
        moment = now()
        due_sql = "SELECT id FROM approvals WHERE status = 'pending' AND expires_at IS NOT NULL AND expires_at <= ?"
        if self.conn.execute(due_sql, (moment,)).fetchone() is None:
            return []  # the usual case: no write, so no transaction (the server asks every second)
        with self.transaction() as conn:
            due = [r["id"] for r in conn.execute(due_sql, (moment,))]
            for approval_id in due:
                conn.execute("UPDATE approvals SET status = 'expired', decided_at = expires_at, "
                             "decided_by = 'timeout' WHERE id = ?", (approval_id,))
                self.audit("timeout", "approval.expired", f"approval:{approval_id}")
        return due
