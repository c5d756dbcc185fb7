"""The server's side of approval gates: decide through the API, and resume every waiting run once it is decided.

A decision can come from anywhere that reaches the store (the API, the web
page, a widget, ``jetnb approve`` in another terminal), so the scheduler loop
also looks for waiting runs with no pending request left and resumes them;
a decision made through this server resumes its run at once.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .plane import ControlPlane


def resume_decided(plane: ControlPlane) -> list[str]:
    """Resume waiting runs whose gate has been decided (or has expired); returns their ids."""
    store = plane.store()
    store.expire_due()
    rows = store.conn.execute(
        "SELECT id FROM runs WHERE status = 'waiting' AND NOT EXISTS "
        "(SELECT 1 FROM approvals a WHERE a.run_id = runs.id AND a.status = 'pending') ORDER BY created_at").fetchall()
    return [r["id"] for r in rows if plane.resume(r["id"])]


def decide(plane: ControlPlane, approval_id: int, user: str, approve: bool, comment: str | None) -> dict[str, Any]:
    """Record the decision (ApprovalError when not allowed) and resume the run right away."""
    decided = plane.store().decide(approval_id, user, approve, comment)
    plane.note("decision", f"request {approval_id} ({decided['workflow']} / {decided['step']}) {decided['status']} "
               f"by {user}", workflow=decided["workflow"], run_id=decided["run_id"])
    plane.resume(decided["run_id"])
    return decided
