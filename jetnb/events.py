"""The one protocol between the kernel side and the runner: step events as display outputs.

The kernel displays each event under ``MIME`` together with a ``text/plain``
status line, so a person in JupyterLab sees the line and the runner reads the
JSON; nothing else crosses from the kernel to the control plane.
"""

from __future__ import annotations

from typing import Any

from .durations import format_duration

MIME = "application/vnd.jetnb.event+json"

SYMBOLS = {"running": "▶", "succeeded": "✓", "failed": "✗", "skipped": "–", "waiting": "…", "rejected": "⊘"}


def status_line(event: dict[str, Any]) -> str:
    """A compact one-line summary of a step event, for outputs and terminals."""
    status = event.get("status", "running")
    name = event.get("step", "?")
    symbol = SYMBOLS.get(status, "•")
    if status == "running":
        return f"{symbol} step {name} running…"
    text = f"{symbol} step {name} {status}"
    if event.get("duration") is not None:
        text += f" in {format_duration(event['duration'])}"
    if event.get("reason"):
        text += f" ({event['reason']})"
    error = event.get("error")
    if error:
        text += f": {error.get('type')}: {error.get('message')}"
    return text


def bundle(event: dict[str, Any]) -> dict[str, Any]:
    """The display bundle for an event: machine JSON plus the human line."""
    return {MIME: event, "text/plain": status_line(event)}
