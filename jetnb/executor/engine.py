"""The jetnb papermill engine: papermill's nbclient engine plus step events, run-log metadata and atomic saves.

Registered as the ``jetnb`` entry point of ``papermill.engine``, so
``papermill --engine jetnb in.ipynb out.ipynb`` gets the same step records
as ``jetnb run``. The runner passes two extra keyword arguments through
papermill: ``observer`` (receives events and the live notebook) and
``run_context`` (handed to the kernel before the first cell).
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Protocol

from .fastimport import skip_unused_grammar

skip_unused_grammar()

import nbformat  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402
from nbclient.util import run_sync  # noqa: E402
from papermill.clientwrap import PapermillNotebookClient  # noqa: E402
from papermill.engines import NBClientEngine, NotebookExecutionManager  # noqa: E402

from ..protocol import MIME  # noqa: E402
from ..model.headers import split_cell  # noqa: E402
from ..model.workflow import RUN_HANDLER_TAG, Workflow  # noqa: E402
from .kernel_stderr import filtered_stderr  # noqa: E402
from .notebook_io import is_local, save_notebook  # noqa: E402

RECORDED = ("step", "kind", "status", "started_at", "finished_at", "duration", "error", "reason", "attempts", "items",
            "progress", "handlers", "continued", "decision")


class JournalError(RuntimeError):
    """Saving or restoring a step's effect on the namespace failed; the run cannot go on faithfully."""


class Observer(Protocol):
    nb: Any

    def event(self, event: dict[str, Any]) -> None: ...


class NullObserver:
    """What a plain ``papermill --engine jetnb`` run reports to: nothing beyond the notebook itself."""

    nb: Any = None

    def event(self, event: dict[str, Any]) -> None:
        pass


def cell_numbers(nb: Any) -> list[int | None]:
    """1-based numbers as in the source notebook: papermill's injected cells get none."""
    numbers, count = [], 0
    for cell in nb.cells:
        if "injected-parameters" in cell.metadata.get("tags", []):
            numbers.append(None)
        else:
            count += 1
            numbers.append(count)
    return numbers


class AtomicSaveManager(NotebookExecutionManager):
    """Papermill's manager, but each save replaces the run log in one rename, and restored cells keep their outputs."""

    def notebook_start(self, **kwargs: Any) -> None:
        kept = {i: (c.outputs, c.execution_count, c.metadata.get("jetnb")) for i, c in enumerate(self.nb.cells)
                if (c.metadata.get("jetnb") or {}).get("restored")}
        super().notebook_start(**kwargs)
        for index, (outputs, count, meta) in kept.items():
            cell = self.nb.cells[index]
            cell.outputs, cell.execution_count, cell.metadata["jetnb"] = outputs, count, meta
            cell.metadata.papermill["status"] = "completed"

    def save(self, **kwargs: Any) -> None:
        if self.output_path and is_local(str(self.output_path)):
            save_notebook(self.nb, str(self.output_path))
            self.last_save_time = self.now()
        else:
            super().save(**kwargs)


class JetnbNotebookClient(PapermillNotebookClient):
    """Runs cells like papermill, and turns kernel step events into cell metadata and observer calls."""

    def __init__(self, nb_man: Any, observer: Observer, run_context: dict[str, Any], **kw: Any):
        super().__init__(nb_man, **kw)
        self.observer = observer
        self.run_context = run_context
        self._numbers: list[int | None] = []

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        if "stderr" in kwargs:
            return await super().async_start_new_kernel(**kwargs)
        stderr = filtered_stderr()
        try:
            await super().async_start_new_kernel(stderr=stderr, **kwargs)
        finally:
            stderr.close()  # the kernel holds its own copy; ours would keep the pipe open forever

    start_new_kernel = run_sync(async_start_new_kernel)

    def papermill_execute_cells(self) -> None:
        self.workflow = Workflow.from_dict(self.nb, Path(self.run_context.get("notebook") or "notebook.ipynb"))
        self._bootstrap()
        self._numbers = cell_numbers(self.nb)
        self.suspended: str | None = None
        failed_at = None
        for index in range(len(self.nb.cells)):
            if self._restorable(index):
                self._silent("restore", self._step_name(index))
                continue
            if not self._run_cell(index):
                failed_at = index
                break
            if self.suspended:
                return  # waiting for approval: no handlers, the kernel is released
            if self.journal and Workflow.role_of(self.nb.cells[index]) in ("step", "result"):
                self._silent("record", self._step_name(index), self._option(index, "idempotent"))
        self._finish(failed_at)

    def _step_name(self, index: int) -> str:
        model = self.workflow.cells[index] if index < len(self.workflow.cells) else None
        if model is not None and (model.role == "result" or (model.header is not None and model.header.name)):
            return model.step_name
        return f"cell-{self._numbers[index]}"

    def _option(self, index: int, key: str) -> bool:
        model = self.workflow.cells[index] if index < len(self.workflow.cells) else None
        return bool(model is not None and model.header is not None and model.header.get(key))

    def _restorable(self, index: int) -> bool:
        """On resume, a completed step is restored from the journal unless it is marked --idempotent."""
        restored = (self.nb.cells[index].metadata.get("jetnb") or {}).get("restored")
        return bool(restored) and not self._option(index, "idempotent")

    def _silent(self, function: str, *args: Any) -> None:
        """Call a journal function in the kernel without a cell; its failure fails the run."""
        code = (f"__import__('jetnb.runtime.journal', fromlist=['{function}']).{function}"
                f"({', '.join(repr(arg) for arg in args)})")
        reply = self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False))
        content = (reply or {}).get("content", {})
        if content.get("status") != "ok":
            raise JournalError(f"journal {function} {args[0]!r} failed: {content.get('ename')}: "
                               f"{content.get('evalue')}")

    def _run_cell(self, index: int) -> bool:
        """Execute one cell as papermill would; False when it failed."""
        cell = self.nb.cells[index]
        anonymous = Workflow.role_of(cell) == "step" and split_cell(cell.source) is None
        if anonymous:
            self._anonymous(index, "running")
        failure: CellExecutionError | None = None
        try:
            self.nb_man.cell_start(cell, index)
            self.execute_cell(cell, index)
        except CellExecutionError as exc:
            failure = exc
            self.nb_man.cell_exception(self.nb.cells[index], cell_index=index, exception=exc)
        finally:
            if anonymous:
                self._anonymous(index, "failed" if failure else "succeeded", failure)
            self.nb_man.cell_complete(self.nb.cells[index], cell_index=index)
        return failure is None

    def _finish(self, failed_at: int | None) -> None:
        """Append and run the workflow's on_error / on_success handler as the run log's last cell."""
        on = "on_error" if failed_at is not None else "on_success"
        ref = self.workflow.config.values.get(on)
        if not ref:
            return
        source = f"%jetnb_finish {on} {ref}"
        if failed_at is not None:
            step = (self.nb.cells[failed_at].metadata.get("jetnb") or {}).get("step")
            source += f" --step {step or f'cell-{self._numbers[failed_at]}'}"
        cell = nbformat.v4.new_code_cell(source, metadata={"tags": [RUN_HANDLER_TAG]})
        cell.metadata["papermill"] = {"exception": None, "start_time": None, "end_time": None, "duration": None,
                                      "status": "pending"}
        self.nb.cells.append(cell)
        self._numbers.append(None)
        self._run_cell(len(self.nb.cells) - 1)

    def _bootstrap(self) -> None:
        """Load the jetnb extension (unless the notebook does) and the run context, without a cell or history entry."""
        loads_itself = any(Workflow.role_of(cell) == "setup" for cell in self.nb.cells)
        context = {"headless": True, **self.run_context, "run_started": time.time(),  # the timeout clock starts here
                   "handlers": self.workflow.handler_bodies(),
                   "timeout": self.workflow.config.values.get("timeout")}
        context.pop("notebook", None)
        self.journal = context.get("journal_dir")
        code = (
            ("" if loads_itself else "get_ipython().run_line_magic('load_ext', 'jetnb')\n") +
            "__import__('jetnb.runtime.bootstrap', fromlist=['configure']).configure("
            f"__import__('json').loads({json.dumps(json.dumps(context))}))\n"
        )
        reply = self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False))
        content = (reply or {}).get("content", {})
        if content.get("status") != "ok":
            hint = ("; is jetnb installed in the kernel's Python environment?"
                    if content.get("ename") == "ModuleNotFoundError" else "")
            raise RuntimeError(f"jetnb could not start in the kernel ({content.get('ename')}: "
                               f"{content.get('evalue')}){hint}")

    def process_message(self, msg: dict, cell: Any, cell_index: int) -> Any:
        processed = super().process_message(msg, cell, cell_index)
        data = msg.get("content", {}).get("data") or {}
        if MIME in data:
            self._record(cell_index, dict(data[MIME]))
        return processed

    def _anonymous(self, index: int, status: str, failure: CellExecutionError | None = None) -> None:
        cell = self.nb.cells[index]
        meta = cell.metadata.get("jetnb") or {}
        event: dict[str, Any] = {"event": "step", "step": f"cell-{self._numbers[index]}", "kind": "step",
                                 "status": status}
        now = time.time()
        if status == "running":
            event["started_at"] = _iso(now)
            self._clock = now
        else:
            event.update(started_at=meta.get("started_at"), finished_at=_iso(now),
                         duration=round(now - self._clock, 6))
            if failure is not None:
                event["error"] = {"type": failure.ename, "message": failure.evalue,
                                  "traceback": str(failure.traceback)}
        self._record(index, event)

    def _record(self, index: int, event: dict[str, Any]) -> None:
        cell = self.nb.cells[index]
        event["cell"] = self._numbers[index] if self._numbers else index + 1
        run_meta = self.nb.metadata.setdefault("jetnb", {})
        if event.get("event") == "step":
            cell.metadata["jetnb"] = {k: event[k] for k in RECORDED if event.get(k) is not None}
            if event.get("kind") == "result" and event.get("status") == "succeeded":
                run_meta["result"] = event.get("value")
            if event.get("status") == "failed" and event.get("kind") in ("step", "result") and not event.get(
                    "continued"):
                run_meta["failed_step"] = {**(event.get("error") or {}), "step": event.get("step"),
                                           "cell": event["cell"]}
        elif event.get("event") == "output":
            run_meta.setdefault("outputs", {}).update(event.get("values") or {})
        elif event.get("event") == "handler_request":
            run_meta.setdefault("handler_requests", []).append(event)
        elif event.get("event") == "approval_request":
            self.suspended = event.get("step")
            run_meta["waiting_for"] = event
        self.nb_man.save()  # the run log shows each step as it starts and ends, not only at cell boundaries
        self.observer.event(event)


def _iso(ts: float) -> str:
    from datetime import datetime, timezone

    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


class JetnbEngine(NBClientEngine):
    """The papermill engine; see the module docstring for the extra keyword arguments."""

    @classmethod
    def execute_notebook(cls, nb: Any, kernel_name: str, output_path: str | None = None, progress_bar: bool = True,
                         log_output: bool = False, autosave_cell_every: int = 30, observer: Observer | None = None,
                         run_context: dict[str, Any] | None = None, log_path: str | None = None,
                         **kwargs: Any) -> Any:
        nb_man = AtomicSaveManager(nb, output_path=log_path or output_path, progress_bar=progress_bar, log_output=log_output,
                                   autosave_cell_every=autosave_cell_every)
        observer = observer or NullObserver()
        observer.nb = nb_man.nb
        nb_man.nb.metadata.setdefault("jetnb", {}).update(run_context or {})
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, observer=observer,
                                         run_context=run_context or {"headless": True}, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    def execute_managed_notebook(cls, nb_man: Any, kernel_name: str, log_output: bool = False,
                                 stdout_file: Any = None, stderr_file: Any = None, start_timeout: int = 60,
                                 execution_timeout: float | None = None, observer: Observer | None = None,
                                 run_context: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        kwargs.pop("input_path", None)
        kwargs.pop("timeout", None)
        kwargs.pop("startup_timeout", None)
        client = JetnbNotebookClient(
            nb_man, observer or NullObserver(), run_context or {"headless": True},
            timeout=execution_timeout, startup_timeout=start_timeout, kernel_name=kernel_name,
            log=_logger(), log_output=log_output, stdout_file=stdout_file, stderr_file=stderr_file, **kwargs,
        )
        return client.execute()


def _logger() -> Any:
    from papermill.log import logger

    return logger

