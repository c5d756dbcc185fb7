"""Approval gates in the kernel: ask, then act on the decision (run, skip, or fail).

Headless, a gate without a decision asks the runner (an ``approval_request``
event) and suspends the run: the step reports ``waiting`` and the runner
stops after this cell and releases the kernel. The decision comes back in
the run context when the run resumes. Interactively, the gate asks a
person through ``ask_person`` (set when the extension loads: an approval
prompt over the jetnb client) and waits in the cell.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from ..model.headers import Header
from ..protocol import ApprovalRequest
from . import context
from .events import emit
from .outcomes import Decision

Asker = Callable[[ApprovalRequest, "context.KernelRun"], dict[str, Any]]
ask_person: Asker | None = None  # set by ``jetnb.load_ipython_extension``; blocks until a decision arrives


class ApprovalRejected(Exception):
    """A gate was rejected and the step says ``--on-reject fail``."""


class ApprovalExpired(Exception):
    """A gate's request expired and the step says ``--on-timeout fail``."""


class SuspendError(Exception):
    """The run cannot wait for a decision because a completed step's state cannot be saved."""


def approvers(who: list[str]) -> list[str]:
    """Expand approver groups from ``%%workflow``'s ``approvers``; other names are users."""
    groups = context.current().config.get("approvers") or {}
    people: list[str] = []
    for name in who:
        for person in groups.get(name, [name]):
            if person not in people:
                people.append(person)
    return people


def message(shell: Any, header: Header) -> str:
    template = header.get("message") or f"Approve step {header.name} of {context.current().workflow or 'this workflow'}?"
    try:
        return template.format_map(shell.user_ns)
    except (KeyError, AttributeError, IndexError, ValueError) as exc:
        raise ValueError(f"step {header.name!r}: --message {template!r} cannot be filled: "
                         f"{type(exc).__name__}: {exc}") from None


def request(shell: Any, header: Header) -> ApprovalRequest:
    """The approval request as the runner stores it."""
    ctx = context.current()
    return ApprovalRequest(
        step=header.name or "", approvers=approvers(header.get("approve")), message=message(shell, header),
        details={"params": ctx.context.params, "workflow": ctx.workflow, "run_id": ctx.run_id},
        timeout=header.get("approval_timeout"), on_timeout=header.get("on_timeout", "reject"),
        allow_self=bool(ctx.config.get("allow_self_approval", True)),
        groups=[name for name in header.get("approve") if name in (ctx.config.get("approvers") or {})])


def decide(shell: Any, header: Header) -> Decision | None:
    """The gate's decision, or None when the run must suspend (headless, undecided)."""
    ctx = context.current()
    decided = ctx.context.decisions.get(header.name or "")
    if decided is None and ctx.headless:
        blockers = ctx.journal.blockers() if ctx.journal is not None else []
        if blockers:
            raise SuspendError("cannot wait for approval: " + "; ".join(blockers)
                               + ". Mark those steps --idempotent so a resumed run re-executes them instead.")
        event = request(shell, header)
        emit(event, f"approval requested from {', '.join(event.approvers)}: {event.message}")
        ctx.suspended = header.name
        return None
    if decided is None:
        if ask_person is None:
            raise RuntimeError(f"step {header.name!r} needs an approval and nobody can be asked here "
                               "(load the extension with %load_ext jetnb)")
        decided = ask_person(request(shell, header), ctx)
    at = decided.get("at")
    return Decision(approved=decided.get("approved"), status=decided["status"], by=decided.get("by"),
                    comment=decided.get("comment"),
                    at=datetime.fromtimestamp(at, timezone.utc).isoformat() if isinstance(at, (int, float)) else at,
                    request=decided.get("id"))


def enforce(header: Header, decision: Decision) -> bool:
    """True to run the body; False to skip it as rejected; raises for the ``fail`` policies."""
    name = header.name
    if decision.status == "expired" and decision.approved is None:  # --on-timeout fail
        raise ApprovalExpired(f"step {name!r}: approval request {decision.request} expired without a decision")
    if decision.approved:
        return True
    if header.get("on_reject") == "fail":
        why = f" ({decision.comment})" if decision.comment else ""
        raise ApprovalRejected(f"step {name!r} was rejected by {decision.by}{why}")
    return False
