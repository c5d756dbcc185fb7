"""``RunHistory``: a workflow's recent runs; selecting one shows its step timeline, result and run log, and a
run that has not ended can be cancelled."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..durations import format_duration
from ..render import short_time
from ..model.workflow import Workflow
from ..client import Client, LocalClient
from ..store import RunStateError
from .status import SYMBOLS, OnFinished, RunStatus

CANCELLABLE = ("queued", "running", "waiting")


class RunHistory(widgets.VBox):
    """The latest ``limit`` runs of a workflow, newest first, with a Refresh button.

    Selecting a run shows it in full below the list; a run that has not
    ended is followed until it does. The list itself changes only on Refresh.
    """

    def __init__(self, workflow: str | Path, limit: int = 20, *, store: str | Path | None = None,
                 runs_dir: str | Path | None = None, client: Client | None = None,
                 on_finished: OnFinished | None = None):
        self.name = Workflow.load(workflow).name
        self.limit = limit
        self.client = client or LocalClient(store, runs_dir)
        self.refresh_button = widgets.Button(description="Refresh", icon="refresh", layout=widgets.Layout(width="auto"))
        self.refresh_button.on_click(lambda _: self.refresh())
        self.cancel_button = widgets.Button(description="Cancel run", icon="stop", button_style="warning",
                                            disabled=True, layout=widgets.Layout(width="auto"))
        self.cancel_button.on_click(lambda _: self.cancel())
        self.summary = widgets.HTML()
        self.list = widgets.Select(options=[], rows=min(max(limit, 1), 8), layout=widgets.Layout(width="100%"))
        self.details = RunStatus(timeline=True, on_finished=on_finished)
        self._refreshing = False
        self.list.observe(self._selected, names="value")
        self.details.observe(self._cancellable, names="run")
        super().__init__([widgets.HBox([self.refresh_button, self.cancel_button, self.summary]), self.list,
                          self.details])
        self.refresh()

    def refresh(self) -> None:
        """Read the runs again; the selected run stays selected while it is still listed, else the newest is."""
        runs = self.client.list_runs(self.name, self.limit)
        ids = [run["id"] for run in runs]
        target = self.list.value if self.list.value in ids else (ids[0] if ids else None)
        self._refreshing = True  # setting options moves the selection; show only the final one
        try:
            self.list.options = [(run_label(run), run["id"]) for run in runs]
            self.list.value = target
        finally:
            self._refreshing = False
        self.summary.value = f"{len(runs)} most recent run{'s' if len(runs) != 1 else ''} of <b>{self.name}</b>"
        if target:
            self._show(target)
        else:
            self.details.say(f"no runs of {self.name} yet")

    def select(self, run_id: str) -> None:
        """Show one of the listed runs, as clicking it does."""
        self.list.value = run_id

    def cancel(self) -> None:
        """Cancel the selected run (a queued or waiting one at once; a running one is interrupted, then stopped)."""
        run_id = self.list.value
        if not run_id:
            return
        try:
            self.client.cancel_run(run_id, reason="cancelled from RunHistory")
        except (RunStateError, LookupError) as exc:
            self.summary.value = f"<span style='color:#b00'>{html.escape(str(exc))}</span>"
            return
        self.refresh()

    def _cancellable(self, change: dict[str, Any]) -> None:
        run = change["new"] or {}
        self.cancel_button.disabled = run.get("status") not in CANCELLABLE

    def _selected(self, change: dict[str, Any]) -> None:
        if change["new"] and not self._refreshing:
            self._show(change["new"])

    def _show(self, run_id: str) -> None:
        self.details.show(self.client.get_run(run_id), self.client)


def run_label(run: dict[str, Any]) -> str:
    """One line of the list: status, trigger, start time, duration, run id."""
    status = f"{SYMBOLS.get(run['status'], '•')} {run['status']}"
    return (f"{status:<13} {run['trigger']:<8} {short_time(run.get('started_at') or run.get('created_at'))}  "
            f"{format_duration(run.get('duration')):>7}  {run['id']}")
