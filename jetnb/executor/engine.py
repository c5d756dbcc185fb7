"""The jetnb papermill engine: papermill's nbclient engine plus step events, run-log metadata, coalesced atomic
saves and cancellation.

Registered as the ``jetnb`` entry point of ``papermill.engine``, so
``papermill --engine jetnb in.ipynb out.ipynb`` gets the same step records
as ``jetnb run``. The backends pass extra keyword arguments through
papermill: ``builder`` (the ``OutcomeBuilder`` that receives every event),
``context`` (the ``RunContext`` handed to the kernel before the first cell),
``notebook_path``, ``log_path``, ``cancel`` (a ``CancelSignal``), ``env``
(the kernel's environment), ``secrets`` (a ``RunSecrets``) and
``final_write`` (False: the caller writes the finished log itself, so the
engine does not write it a last time too).

The engine only forwards events: each is written into the cell it came
from and handed to the builder; what they mean for the run is the
builder's business.

Secrets: the run's values reach the kernel in a silent call (no cell, no
history, no output) right after the bootstrap, and ``Secret`` parameters
are bound in the notebook by a second one after the parameters cell.
Every kernel message and reply is masked (``jetnb.secrets.masking``) before
nbclient keeps it, so outputs, errors, tracebacks and events are masked
wherever they go next.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .fastimport import skip_unused_grammar

skip_unused_grammar()

import nbformat  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402
from nbclient.util import run_sync  # noqa: E402
from papermill.clientwrap import PapermillNotebookClient  # noqa: E402
from papermill.engines import NBClientEngine, NotebookExecutionManager  # noqa: E402

from ..model.headers import split_cell  # noqa: E402
from ..model.reactions import handler_of  # noqa: E402
from ..model.workflow import RUN_HANDLER_TAG, Workflow  # noqa: E402
from ..protocol import MIME, ProtocolError, RunContext, RunSecrets, StepEvent, from_dict, to_dict  # noqa: E402
from ..secrets.masking import masker  # noqa: E402
from . import NullObserver  # noqa: E402
from .cancel import CancelSignal, StopKind  # noqa: E402
from .kernel_stderr import filtered_stderr  # noqa: E402
from .notebook_io import save_notebook  # noqa: E402
from .outcome import OutcomeBuilder  # noqa: E402
from .run_kernel import RunKernelManager  # noqa: E402

SAVE_EVERY = 1.0  # seconds at least between writes of the run log: a burst of events costs one write
SAVE_SHARE = 0.05  # writes take at most this share of the run's time, however long the notebook grows
_CELL_META_SKIP = ("event", "cell", "value")


class JournalError(RuntimeError):
    """Saving or restoring a step's effect on the namespace failed; the run cannot go on faithfully."""


class RunStopped(Exception):
    """The run was cancelled or interrupted before its next cell."""

    def __init__(self, kind: StopKind, reason: str):
        super().__init__(reason)
        self.kind = kind


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


class RunLogManager(NotebookExecutionManager):
    """Papermill's manager, but saves are coalesced and atomic, and restored cells keep their outputs.

    Papermill saves at every cell start and end; with hundreds of steps,
    writing (and fsyncing) the whole notebook each time makes a run
    quadratic. Here a save marks the log dirty and writes it once the
    interval has passed (atomically: temp file + rename), fsyncing only
    writes that end a step, and always at the end of the run. The interval
    is ``SAVE_EVERY``, or longer when the notebook has grown so much that a
    write takes more than ``SAVE_SHARE`` of it: the total cost of saving
    stays a fixed share of the run, so a run's time grows linearly.
    """

    builder: OutcomeBuilder | None = None
    _last_write = 0.0
    _interval = SAVE_EVERY
    _dirty = False
    _scheduled = False
    _failed: OSError | None = None  # a deferred write that failed (a full disk): raised at the next save

    def notebook_start(self, **kwargs: Any) -> None:
        kept = {i: (c.outputs, c.execution_count, c.metadata.get("jetnb")) for i, c in enumerate(self.nb.cells)
                if (c.metadata.get("jetnb") or {}).get("restored")}
        super().notebook_start(**kwargs)
        for index, (outputs, count, meta) in kept.items():
            cell = self.nb.cells[index]
            cell.outputs, cell.execution_count, cell.metadata["jetnb"] = outputs, count, meta
            cell.metadata.papermill["status"] = "completed"

    def save(self, *, durable: bool = False, force: bool = False, **kwargs: Any) -> None:
        """Write now if the last write is old enough, else once the interval has passed (on nbclient's loop)."""
        if not self.output_path:
            return
        if self._failed is not None:
            raise self._failed
        self._dirty = True
        wait = self._interval - (time.monotonic() - self._last_write)
        if force or wait <= 0:
            self.flush(durable=durable)
            return
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # between cells: the next message from the kernel (or the run's end) writes it
            return
        self._scheduled = True
        loop.call_later(wait, self._deferred)

    def _deferred(self) -> None:
        """The scheduled write, on nbclient's loop: an error is kept for the run's own path, not the loop's log."""
        try:
            self.flush()
        except OSError as exc:
            self._failed = exc

    def flush(self, *, durable: bool = True, final: bool = False) -> None:
        self._scheduled = False
        if not (self.output_path and self._dirty):
            return
        if self.builder is not None:
            self.nb.metadata.setdefault("jetnb", {}).update(self.builder.metadata())
        started = time.monotonic()
        save_notebook(self.nb, str(self.output_path), durable=durable, pretty=final)
        self._dirty = False
        self._last_write = time.monotonic()
        self._interval = max(SAVE_EVERY, (self._last_write - started) / SAVE_SHARE)
        self.last_save_time = self.now()

    final_write = True  # False when the caller writes the log right after (the backends' _finish_log)

    def notebook_complete(self, **kwargs: Any) -> None:
        super().notebook_complete(**kwargs)
        if self.final_write:
            self.flush(durable=True, final=True)


class JetnbNotebookClient(PapermillNotebookClient):
    """Runs cells like papermill; forwards kernel events into cell metadata and the builder; honours cancel."""

    def __init__(self, nb_man: RunLogManager, builder: OutcomeBuilder, context: RunContext, notebook_path: str,
                 cancel: CancelSignal, env: dict[str, str] | None, secrets: RunSecrets | None, **kw: Any):
        kw.setdefault("kernel_manager_class", RunKernelManager)  # a kernel it starts itself runs headless too
        super().__init__(nb_man, **kw)
        self.builder = builder
        self.context = context
        self.notebook_path = notebook_path
        self.cancel = cancel
        self.env = env
        self.secrets = secrets
        self._numbers: list[int | None] = []
        self._ended = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.suspended: str | None = None

    async def async_start_new_kernel(self, **kwargs: Any) -> None:
        if self.env is not None:
            kwargs.setdefault("env", self.env)
        if "stderr" in kwargs:
            return await super().async_start_new_kernel(**kwargs)
        stderr = filtered_stderr()
        try:
            await super().async_start_new_kernel(stderr=stderr, **kwargs)
        finally:
            stderr.close()  # the kernel holds its own copy; ours would keep the pipe open forever

    start_new_kernel = run_sync(async_start_new_kernel)

    async def async_start_new_kernel_client(self) -> Any:
        """nbclient's, noting its event loop for the cancel watcher: also when the kernel was started ahead (a warm
        or pooled kernel: then ``async_start_new_kernel`` is never called)."""
        self._loop = asyncio.get_running_loop()
        return await super().async_start_new_kernel_client()

    start_new_kernel_client = run_sync(async_start_new_kernel_client)

    def papermill_execute_cells(self) -> None:
        threading.Thread(target=self._watch_cancel, name="jetnb-cancel-watch", daemon=True).start()
        try:
            self._execute_cells()
        finally:
            self._ended.set()

    def _execute_cells(self) -> None:
        self.workflow = Workflow.from_dict(self.nb, Path(self.notebook_path), full=False)  # validated before the run
        self._bootstrap()
        self._numbers = cell_numbers(self.nb)
        bind_after = self._parameters_index() if self.secrets is not None and self.secrets.params else None
        failed_at = None
        for index in range(len(self.nb.cells)):
            self._check_stop()
            if self._restorable(index):
                self._silent("restore", self._step_name(index))
                continue
            if not self._run_cell(index):
                failed_at = index
                break
            if index == bind_after:
                self._kernel_call("secrets", "bind_parameters", what="binding the Secret parameters")
            if self.suspended:
                return  # waiting for approval: no handlers, the kernel is released
            if self.journal and self._anonymous_step(index):  # %%step and %%result journal themselves
                self._silent("record", self._step_name(index))
        if not self.cancel.is_set():
            self._finish(failed_at)

    def _check_stop(self) -> None:
        if self.cancel.is_set():
            raise RunStopped(self.cancel.kind or StopKind.CANCEL, self.cancel.reason)

    def _watch_cancel(self) -> None:
        """Interrupt the kernel when the run is stopped; shut it down if it is still busy after the grace period.

        The kernel manager belongs to nbclient's event loop (the thread that
        runs the cells), so its coroutines are handed to that loop.
        """
        while not self._ended.is_set():
            if self.cancel.wait(0.2):
                break
        if self._ended.is_set() or self.km is None or self._loop is None:
            return
        self._on_loop(self.km.interrupt_kernel())
        if not self._ended.wait(self.cancel.grace):
            self._on_loop(self.km.shutdown_kernel(now=True))

    def _on_loop(self, call: Any) -> None:
        if not asyncio.iscoroutine(call):
            return  # a blocking kernel manager did the work already
        try:
            asyncio.run_coroutine_threadsafe(call, self._loop).result(timeout=30)
        except Exception as exc:  # a kernel that is already gone needs no interrupt
            self.log.debug("stopping the kernel: %s", exc)

    def _step_name(self, index: int) -> str:
        model = self.workflow.cells[index] if index < len(self.workflow.cells) else None
        if model is not None and (model.role == "result" or (model.header is not None and model.header.name)):
            return model.step_name
        return f"cell-{self._numbers[index]}"

    def _option(self, index: int, key: str) -> bool:
        model = self.workflow.cells[index] if index < len(self.workflow.cells) else None
        return bool(model is not None and model.header is not None and model.header.get(key))

    def _anonymous_step(self, index: int) -> bool:
        cell = self.nb.cells[index]
        return Workflow.role_of(cell) == "step" and split_cell(cell.source) is None

    def _restorable(self, index: int) -> bool:
        """On resume, a completed step is restored from the journal unless it is marked --idempotent."""
        restored = (self.nb.cells[index].metadata.get("jetnb") or {}).get("restored")
        return bool(restored) and not self._option(index, "idempotent")

    def _silent(self, function: str, *args: Any) -> None:
        """Call a journal function in the kernel without a cell; its failure fails the run."""
        self._kernel_call("journal", function, *args, what=f"journal {function} {args[0]!r}", error=JournalError)

    def _kernel_call(self, module: str, function: str, *args: Any, what: str,
                     error: type[Exception] = RuntimeError) -> None:
        """Call ``jetnb.runtime.<module>.<function>(*args)`` in the kernel: no cell, no history, no output.

        The reply is masked like every other (see ``async_wait_for_reply``),
        so a failure message never shows a secret, even one in ``args``.
        """
        code = (f"__import__('jetnb.runtime.{module}', fromlist=['{function}']).{function}"
                f"({', '.join(repr(arg) for arg in args)})")
        reply = self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False))
        content = (reply or {}).get("content", {})
        if content.get("status") != "ok":
            self._check_stop()
            raise error(f"{what} failed: {content.get('ename')}: {content.get('evalue')}")

    def _parameters_index(self) -> int | None:
        """The cell after which ``Secret`` parameters are bound: the parameters cell, or papermill's injected one."""
        found = [i for i, cell in enumerate(self.nb.cells)
                 if Workflow.role_of(cell) in ("parameters", "injected-parameters")]
        return found[-1] if found else None

    def _run_cell(self, index: int) -> bool:
        """Execute one cell as papermill would; False when it failed."""
        cell = self.nb.cells[index]
        anonymous = self._anonymous_step(index)
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
            self.nb_man.save(durable=True)
        return failure is None

    def _finish(self, failed_at: int | None) -> None:
        """Append and run the workflow's on_error / on_success handler as the run log's last cell."""
        on = "on_error" if failed_at is not None else "on_success"
        ref = handler_of(self.workflow.config.values.get(on))  # its actions are the run service's (service/notify.py)
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
        """Load the jetnb extension (unless the notebook does), the run context and the run's secrets, in one silent
        call: no cell, no history entry, one round trip.

        The secret values go to ``jetnb.runtime.secrets`` (the side channel:
        never a cell). Without them (``papermill --engine jetnb``),
        ``jetnb.secret`` reads the environment and the secrets file, as in
        JupyterLab.
        """
        loads_itself = any(Workflow.role_of(cell) == "setup" for cell in self.nb.cells)
        self.context.run_started = time.time()  # the timeout clock starts here
        self.context.handlers = self.workflow.handler_bodies()
        self.context.timeout = self.workflow.config.values.get("timeout")
        self.journal = self.context.journal_dir
        code = (
            ("" if loads_itself else "get_ipython().run_line_magic('load_ext', 'jetnb')\n") +
            "__import__('jetnb.runtime.bootstrap', fromlist=['configure']).configure("
            f"__import__('json').loads({json.dumps(json.dumps(self.context.to_dict()))}))\n" +
            ("" if self.secrets is None else
             f"__import__('jetnb.runtime.secrets', fromlist=['receive']).receive({self.secrets.to_dict()!r})\n")
        )
        reply = self.wait_for_reply(self.kc.execute(code, silent=True, store_history=False))
        content = (reply or {}).get("content", {})
        if content.get("status") != "ok":
            hint = ("; is jetnb installed in the kernel's Python environment?"
                    if content.get("ename") == "ModuleNotFoundError" else "")
            raise RuntimeError(f"jetnb could not start in the kernel ({content.get('ename')}: "
                               f"{content.get('evalue')}){hint}")

    async def async_wait_for_reply(self, msg_id: str, cell: Any = None) -> dict[str, Any] | None:
        """The kernel's reply, masked: an error's name, value and traceback become a CellExecutionError."""
        reply = await super().async_wait_for_reply(msg_id, cell)
        if reply is not None:
            reply["content"] = masker.masked(reply.get("content"))
        return reply

    wait_for_reply = run_sync(async_wait_for_reply)

    def process_message(self, msg: dict, cell: Any, cell_index: int) -> Any:
        """Mask the message, keep it as nbclient does, and forward the jetnb event it carries."""
        if msg.get("msg_type") != "status":
            msg["content"] = masker.masked(msg.get("content"))
        processed = super().process_message(msg, cell, cell_index)
        if self.nb_man._dirty:
            self.nb_man.save()  # on nbclient's loop: a write left pending between cells is scheduled now
        data = msg.get("content", {}).get("data") or {}
        if MIME in data:
            try:
                event = from_dict(dict(data[MIME]))
            except ProtocolError as exc:
                self.log.warning("cell %s: %s; ignored", cell_index + 1, exc)
            else:
                self._forward(cell_index, event)
        return processed

    def _anonymous(self, index: int, status: str, failure: CellExecutionError | None = None) -> None:
        meta = self.nb.cells[index].metadata.get("jetnb") or {}
        event = StepEvent(step=f"cell-{self._numbers[index]}", status=status)
        now = time.time()
        if status == "running":
            event.started_at = _iso(now)
            self._clock = now
        else:
            event.started_at, event.finished_at = meta.get("started_at"), _iso(now)
            event.duration = round(now - self._clock, 6)
            if failure is not None:
                event.error = {"type": failure.ename, "message": failure.evalue, "traceback": str(failure.traceback)}
        self._forward(index, event)

    def _forward(self, index: int, event: Any) -> None:
        """Write the event into its cell (step events) and hand it to the builder; save the log (coalesced)."""
        event.cell = self._numbers[index] if self._numbers else index + 1
        if isinstance(event, StepEvent):
            self.nb.cells[index].metadata["jetnb"] = {k: v for k, v in to_dict(event).items()
                                                      if k not in _CELL_META_SKIP}
        self.builder.event(event)
        if self.builder.approval is not None:
            self.suspended = self.builder.approval.step
        ended = isinstance(event, StepEvent) and event.status not in ("running", "waiting")
        self.nb_man.save(durable=ended)


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).isoformat(timespec="milliseconds")


class JetnbEngine(NBClientEngine):
    """The papermill engine; see the module docstring for the extra keyword arguments."""

    @classmethod
    def execute_notebook(cls, nb: Any, kernel_name: str, output_path: str | None = None, progress_bar: bool = True,
                         log_output: bool = False, autosave_cell_every: int = 30,
                         builder: OutcomeBuilder | None = None, context: RunContext | None = None,
                         notebook_path: str | None = None, log_path: str | None = None,
                         cancel: CancelSignal | None = None, env: dict[str, str] | None = None,
                         secrets: RunSecrets | None = None, final_write: bool = True, **kwargs: Any) -> Any:
        nb_man = RunLogManager(nb, output_path=log_path or output_path, progress_bar=progress_bar,
                               log_output=log_output, autosave_cell_every=autosave_cell_every)
        nb_man.final_write = final_write
        nb_man.builder = builder = builder or OutcomeBuilder(NullObserver())
        builder.nb = nb_man.nb
        context = context or RunContext(headless=True)
        nb_man.nb.metadata.setdefault("jetnb", {}).update(
            {k: v for k, v in context.to_dict().items() if k in ("run_id", "workflow", "trigger", "started_by")})
        nb_man.notebook_start()
        try:
            client = JetnbNotebookClient(
                nb_man, builder, context, notebook_path or kwargs.pop("input_path", None) or "notebook.ipynb",
                cancel or CancelSignal(), env, secrets, timeout=kwargs.pop("execution_timeout", None),
                startup_timeout=kwargs.pop("start_timeout", 60), kernel_name=kernel_name, log=_logger(),
                log_output=log_output, stdout_file=kwargs.pop("stdout_file", None),
                stderr_file=kwargs.pop("stderr_file", None),
                **{k: v for k, v in kwargs.items() if k not in ("input_path", "timeout", "startup_timeout")})
            client.execute()
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb


def _logger() -> Any:
    from papermill.log import logger

    return logger
