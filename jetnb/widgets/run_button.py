"""``RunButton``: one click runs a workflow with fixed parameters and shows the run live."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..model.workflow import Workflow
from ..client import Client, LocalClient
from .status import OnFinished, RunStatus


class RunButton(widgets.VBox):
    """A button that starts a run (trigger ``widget``) and the run's status below it.

    While a run is going the button is disabled, and a click that arrives
    anyway (e.g. ``button.click()`` from code) is refused: one button, one run
    at a time.
    """

    def __init__(self, workflow: str | Path, params: dict[str, Any] | None = None, label: str | None = None, *,
                 store: str | Path | None = None, runs_dir: str | Path | None = None, client: Client | None = None,
                 on_finished: OnFinished | None = None):
        self.workflow = Path(workflow)
        self.params = dict(params or {})
        self.client = client or LocalClient(store, runs_dir)
        name = Workflow.load(self.workflow).name
        self.button = widgets.Button(description=label or f"Run {name}", icon="play", button_style="primary",
                                     tooltip=f"run {self.workflow}")
        self.status = RunStatus(on_finished=on_finished)
        widgets.dlink((self.status, "busy"), (self.button, "disabled"))
        self.button.on_click(lambda _: self.start())
        super().__init__([self.button, self.status])

    def start(self) -> str | None:
        """What a click does: start the run and follow it; returns its id, or None if refused or invalid."""
        return self.status.start(self.client, self.workflow, self.params, {"widget": "RunButton"})
