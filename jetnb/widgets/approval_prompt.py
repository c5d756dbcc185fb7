"""A gate run by a person in JupyterLab: the request goes to the local store (through ``LocalClient``) and the cell
waits.

The cell shows an approval prompt (message, approvers, details, Approve /
Reject and a comment). It waits for the first decision from the prompt, the
feed (``ApprovalFeed``, the web page) or the CLI (``jetnb approve``):
every 0.25 s it reads the request's status from the store, while the
prompt's clicks are handled by a kernel subshell (``_subshell_for``). It waits until a decision
arrives or the request expires (``--approval-timeout``; without one it
waits until the cell is interrupted).
"""

from __future__ import annotations

import getpass
import html
import json
import os
import time
from typing import Any

from ..client import LocalClient
from ..protocol import ApprovalRequest
from ..runtime.context import KernelRun
from ..store import ApprovalError, decision_of

POLL_SECONDS = 0.25


def _prompt(client: LocalClient, approval: dict[str, Any]) -> Any:
    import ipywidgets as w

    details = json.dumps(approval["details"], indent=1, default=str)
    header = w.HTML(
        f"<b>Approval needed</b> (request {approval['id']}): {html.escape(approval['message'])}<br>"
        f"approvers: {html.escape(', '.join(approval['approvers']))}"
        f"<pre style='font-size:smaller'>{html.escape(details)}</pre>")
    who = w.Text(value=getpass.getuser(), description="You are")
    comment = w.Text(placeholder="comment (optional)", description="Comment")
    approve = w.Button(description="Approve", button_style="success", icon="check")
    reject = w.Button(description="Reject", button_style="danger", icon="times")
    status = w.HTML()

    def decide(approved: bool) -> None:
        try:
            client.decide(approval["id"], who.value.strip(), approved, comment.value.strip() or None)
        except (ApprovalError, LookupError) as exc:
            status.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"

    approve.on_click(lambda _: decide(True))
    reject.on_click(lambda _: decide(False))
    box = w.VBox([header, who, comment, w.HBox([approve, reject]), status])
    box.add_class("jetnb-approval-prompt")
    return box, (approve, reject, who, comment), status


def wait_for_decision(request: ApprovalRequest, run: KernelRun) -> dict[str, Any]:
    """Ask in the local store, show the prompt, and block until decided; returns the decision."""
    from IPython import get_ipython
    from IPython.display import display

    client = LocalClient()
    approval = client.request_approval(
        request, run_id=run.run_id or f"interactive-{os.getpid()}-{get_ipython().execution_count}",
        workflow=run.workflow or "interactive", trigger=run.context.trigger, started_by=run.context.started_by)
    box, controls, status = _prompt(client, approval)
    display(box)
    _subshell_for(list(controls) + [status])
    while True:
        time.sleep(POLL_SECONDS)
        decided = decision_of(client.get_approval(approval["id"]))
        if decided is not None:
            for control in controls:
                control.disabled = True
            status.value = f"<b>{decided['status']}</b>" + (f" by {html.escape(str(decided['by']))}"
                                                            if decided["by"] else "")
            return decided


def _subshell_for(widgets: list[Any]) -> None:
    """Route the prompt's widget messages to a kernel subshell, which handles them while this cell waits.

    ipykernel 7 runs shell messages one at a time on the main thread, so a
    click on a widget shown by a waiting cell would wait for the cell. A
    subshell (ipykernel 7's concurrent shell) is created on the shell-channel
    thread and the prompt's comms are told to send their replies there.
    Without subshell support (older kernels) the prompt's buttons are not
    processed until the cell ends; decisions from the CLI, the web page or
    another notebook's feed still arrive through the store.
    """
    from concurrent.futures import Future

    from IPython import get_ipython

    kernel = getattr(get_ipython(), "kernel", None)
    thread = getattr(kernel, "shell_channel_thread", None)
    if thread is None or not getattr(kernel, "_supports_kernel_subshells", False):
        return
    created: Future = Future()

    def create() -> None:
        try:
            created.set_result(thread.manager._create_subshell())
        except Exception as exc:  # no subshell: the store-polling fallback still works
            created.set_exception(exc)

    thread.io_loop.add_callback(create)
    subshell = created.result(timeout=10)
    for widget in widgets:
        widget.comm._reply_subshell_id = subshell
