"""``ApprovalFeed``: the approval requests a person may decide, kept current, with Approve and Reject.

The feed polls its client in a background thread (like ``RunStatus``), so
requests decided elsewhere disappear and new ones appear without a click. A
decision made here stays on screen and follows the resumed run.
"""

from __future__ import annotations

import html
import json
import threading
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..render import short_time
from ..store import ApprovalError
from ..client import Client, LocalClient
from .status import RunStatus

ERROR_STYLE = "color: var(--jp-error-color1, #c62828)"


class ApprovalRequest(widgets.VBox):
    """One request: what is asked and its context, a comment box, Approve / Reject, then the decision and the run."""

    def __init__(self, approval: dict[str, Any], user: str, client: Client, lock: threading.Lock | None = None):
        self.approval = approval
        self.lock = lock or threading.Lock()  # the feed's: a refresh never drops a request while it is decided
        self.user = user
        self.client = client
        self.comment = widgets.Text(placeholder="comment (optional)", description="Comment")
        self.approve_button = widgets.Button(description="Approve", button_style="success", icon="check")
        self.reject_button = widgets.Button(description="Reject", button_style="danger", icon="times")
        self.approve_button.on_click(lambda _: self.decide(True))
        self.reject_button.on_click(lambda _: self.decide(False))
        self.message = widgets.HTML()
        self.status = RunStatus(compact=True)
        self.decided: dict[str, Any] | None = None
        super().__init__([widgets.HTML(request_html(approval)), self.comment,
                          widgets.HBox([self.approve_button, self.reject_button]), self.message, self.status],
                         layout=widgets.Layout(border="1px solid var(--jp-border-color2, #ccc)", padding="4px",
                                               margin="0 0 6px 0"))
        self.add_class("jetnb-approval-request")

    def decide(self, approve: bool) -> dict[str, Any] | None:
        """What the buttons do: decide as the feed's user; a refusal is shown here, a decision follows the run."""
        comment = self.comment.value.strip() or None
        with self.lock:
            if self.decided is not None:
                return None
            try:
                self.decided = self.client.decide(self.approval["id"], self.user, approve, comment)
            except (ApprovalError, LookupError) as exc:
                self.message.value = refusal(str(exc))
                return None
            except Exception as exc:  # the store or server went away: say so and leave the buttons usable
                self.message.value = refusal(f"{type(exc).__name__}: {exc}")
                return None
        decided = self.decided
        for control in (self.comment, self.approve_button, self.reject_button):
            control.disabled = True
        self.message.value = (f"<b>{html.escape(decided['status'])} by {html.escape(str(decided['decided_by']))}</b>"
                              f" — run <code>{html.escape(decided['run_id'])}</code> resuming")
        self.status.follow(self.client, decided["run_id"])
        return decided


class ApprovalFeed(widgets.VBox):
    """Pending requests ``user`` may decide, newest first, refreshed every ``refresh`` seconds until ``stop()``.

    Takes ``client=`` (a ``LocalClient`` or ``ServerClient``), else a
    ``LocalClient`` on ``store`` and ``runs_dir`` as every widget does.
    """

    def __init__(self, user: str, client: Client | None = None, refresh: float = 2.0, *,
                 store: str | Path | None = None, runs_dir: str | Path | None = None):
        self.user = user
        self.client = client or LocalClient(store, runs_dir)
        self.interval = refresh
        self.summary = widgets.HTML()
        self.requests: dict[int, ApprovalRequest] = {}
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        super().__init__([self.summary])
        self.add_class("jetnb-approval-feed")
        self.refresh()
        threading.Thread(target=self._poll, name=f"jetnb-approvals-{user}", daemon=True).start()

    def refresh(self) -> None:
        """Show what is pending now: add new requests, drop those decided elsewhere, keep those decided here."""
        try:
            pending = self.client.list_approvals(self.user, pending_only=True)
        except Exception as exc:  # keep showing what we had, and why it may be stale
            self.summary.value = refusal(f"cannot read approval requests: {type(exc).__name__}: {exc}")
            return
        with self._lock:
            current = {a["id"]: a for a in pending}
            self.requests = {i: r for i, r in self.requests.items() if i in current or r.decided is not None}
            for approval in pending:
                self.requests.setdefault(approval["id"], ApprovalRequest(approval, self.user, self.client, self._lock))
            waiting = [self.requests[a["id"]] for a in pending if self.requests[a["id"]].decided is None]
            decided = [r for r in self.requests.values() if r.decided is not None]
            count = len(waiting)
            self.summary.value = (f"<b>{count} request{'' if count == 1 else 's'} waiting for "
                                  f"{html.escape(self.user)}</b>" if count else
                                  f"nothing waiting for {html.escape(self.user)}")
            children = (self.summary, *waiting, *decided)
            if children != self.children:
                self.children = children

    def pending(self) -> list[ApprovalRequest]:
        """The requests shown that are still undecided, newest first."""
        return [r for r in self.children[1:] if isinstance(r, ApprovalRequest) and r.decided is None]

    def stop(self) -> None:
        """Stop refreshing (the requests shown stay, and decided runs are still followed)."""
        self._stopped.set()

    def close(self) -> None:
        self.stop()
        super().close()

    def _poll(self) -> None:
        while not self._stopped.wait(self.interval):
            self.refresh()


def refusal(text: str) -> str:
    """An error line, in JupyterLab's error colour."""
    return f'<span style="{ERROR_STYLE}">✗ {html.escape(text, quote=False)}</span>'


def request_html(approval: dict[str, Any]) -> str:
    """The request as people read it: message, where it waits, who asked, who may decide, details."""
    e = html.escape
    expires = f" · expires {e(short_time(approval['expires_at']))} UTC" if approval.get("expires_at") else ""
    where = (f"workflow <code>{e(approval['workflow'])}</code> · step <code>{e(approval['step'])}</code>"
             f" · run <code>{e(approval['run_id'])}</code>")
    when = (f"trigger {e(str(approval.get('trigger') or '-'))}"
            f" · started by {e(str(approval.get('started_by') or '-'))}"
            f" · requested {e(short_time(approval['requested_at']))} UTC{expires}")
    lines = [f"<b>{e(approval['message'])}</b> <span style='opacity:.7'>(request {approval['id']})</span>",
             where, when, f"approvers: {e(', '.join(approval['approvers']))}"]
    details = json.dumps(approval.get("details") or {}, indent=2, default=str)
    return "<br>".join(lines) + f"<pre style='font-size: smaller; margin: 4px 0'>{e(details)}</pre>"
