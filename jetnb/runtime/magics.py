"""The cell magics; each parses its header with ``jetnb.headers`` and hands off to the module that owns the concept."""

from __future__ import annotations

import json
import shlex
from typing import Any

from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from ..model.config import parse_workflow_config
from ..model.headers import parse_header
from . import context, journal
from .execution import describe_error, run_body
from .handlers import run_handler
from .outcomes import ErrorInfo
from .steps import StepReporter, run_step


class WorkflowConfigError(ValueError):
    """The ``%%workflow`` YAML is invalid; raised in the cell so interactive users see it too."""


class ResultError(ValueError):
    """The ``%%result`` value cannot be stored as JSON."""


@magics_class
class JetnbMagics(Magics):
    @cell_magic
    def workflow(self, line: str, cell: str) -> None:
        """Declare the workflow: YAML with name, triggers, approvers, handlers (see docs/format.md)."""
        parse_header("workflow", line)
        config, problems = parse_workflow_config(cell)
        if problems:
            raise WorkflowConfigError("%%workflow: " + "; ".join(problems))
        ctx = context.current()
        ctx.config = config.values
        name = config.values.get("name") or ctx.workflow or "workflow"
        triggers = ", ".join(kind for kind, _ in config.triggers) or "manual only"
        print(f"workflow {name} · triggers: {triggers}")

    @cell_magic
    def step(self, line: str, cell: str) -> Any:
        """A named step with options (``--when``, ``--retries``, ``--for-each``...); see docs/format.md."""
        __tracebackhide__ = True
        return run_step(self.shell, parse_header("step", line), cell)

    @cell_magic
    def handler(self, line: str, cell: str) -> None:
        """Define a success/error handler; it runs only when a step or the workflow names it."""
        header = parse_header("handler", line)
        context.current().handlers[header.name] = cell
        print(f"handler {header.name} defined (runs only when referenced)")

    @cell_magic
    def result(self, line: str, cell: str) -> Any:
        """The workflow's result: the cell's last expression, stored with the run as JSON."""
        __tracebackhide__ = True
        parse_header("result", line)
        reporter = StepReporter("result", kind="result")
        try:
            value = run_body(self.shell, cell)
            try:
                json.dumps(value)
            except (TypeError, ValueError) as exc:
                raise ResultError(f"%%result: the value must be JSON-serialisable ({exc})") from None
        except BaseException as exc:
            context.current().last_failure = describe_error(exc)
            reporter.finish("failed", error=describe_error(exc))
            raise
        context.current().result = value
        reporter.finish("succeeded", value=value)
        journal.record("result")
        return value

    @line_magic
    def jetnb_finish(self, line: str) -> None:
        """Run the workflow's on_error/on_success handler; the runner appends this as the run log's last cell.

        Usage: ``%jetnb_finish on_error HANDLER [--step NAME]``.
        """
        words = shlex.split(line)
        on, ref = words[0], words[1]
        step = words[words.index("--step") + 1] if "--step" in words else None
        ctx = context.current()
        error = None
        if on == "on_error" and ctx.last_failure:
            failure = ctx.last_failure
            error = ErrorInfo(failure["type"], failure["message"], failure.get("traceback", ""), step, ctx.run_id)
        reporter = StepReporter(f"{on}:{ref}", kind="handler")
        record = run_handler(self.shell, ref, on.removeprefix("on_"), step=step, error=error)
        reporter.finish(record["status"], error=record.get("error"), handlers=[record])
