"""What jetnb's REST API and pages act on inside JupyterLab: the Lab's run service and the workflows of its root.

It offers the part of ``control.plane.ControlPlane`` the handlers use
(``catalog``, ``store``, ``clock``, ``service``, ``launch``, ``accept``,
``set_paused``) and nothing that fires: no watcher, no loops, no webhooks,
no registering of workflows or triggers in the store. Firing stays with
``jetnb serve``; runs started here execute in the Jupyter server, as the
sidebar's do (``lab.py``).

The catalog is the Lab root's notebooks that declare a ``%%workflow`` cell
(as the sidebar lists them), kept current as ``jetnb serve`` keeps its own:
file-system events name the notebooks to re-read (``control/watching.py``),
with a full walk now and then, so a look costs nothing on Jupyter's event
loop when nothing changed, however large the Lab root.
"""

from __future__ import annotations

import time
from concurrent.futures import Future
from typing import Any

from ..control.catalog import Catalog
from ..control.pausing import pause_by_hand
from ..control.watching import NotebookWatcher
from ..model.workflow import Workflow
from ..store import Store
from .lab import Lab
from .workflows import declares_workflow


class LabPlane:
    def __init__(self, lab: Lab):
        self.service = lab.service
        self.clock = lab.clock
        self.serve = lab.serve  # is a jetnb serve running for the store; the pages show it and can start one
        self._catalog = Catalog(lab.root, exclude=(lab.runs_dir,), admit=declares_workflow)
        self._watcher = NotebookWatcher(self._catalog.directory, exclude=self._catalog.exclude)
        self._walked: float | None = None  # when the folder was last walked whole (monotonic seconds)

    @property
    def catalog(self) -> Catalog:
        """The catalog brought up to date with what changed since the last look."""
        now = time.monotonic()
        if self._walked is None:
            self._watcher.start()  # before the first walk: a notebook saved meanwhile is seen at the next look
        elif now - self._walked >= self._watcher.rescan_every:
            self._watcher.everything()
        changes = self._watcher.take()
        if changes.everything:
            self._walked = now
        if changes:
            self._catalog.adopt(self._catalog.scan(changes))
        return self._catalog

    def store(self) -> Store:
        return self.service.store()

    def launch(self, workflow: Workflow, params: dict[str, Any], *, trigger: str, started_by: str,
               rerun_of: str | None = None) -> str:
        return self.service.submit(workflow, params, trigger=trigger, started_by=started_by, rerun_of=rerun_of)

    def accept(self, workflow: Workflow, params: dict[str, Any], *, trigger: str, started_by: str) -> Future[str]:
        return self.service.accept(workflow, params, trigger=trigger, started_by=started_by)

    def set_paused(self, name: str, paused: bool, reason: str, *, by: str) -> bool:
        """Only a workflow some ``jetnb serve`` has registered can be paused (``WorkflowNotFound`` otherwise)."""
        return pause_by_hand(self.store(), name, paused, reason, now=self.clock.now(), by=by)
