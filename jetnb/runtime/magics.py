"""The cell magics; each parses its header with ``jetnb.headers`` and hands off to the module that owns the concept."""

from __future__ import annotations

import json
from typing import Any

from IPython.core.magic import Magics, cell_magic, magics_class

from ..config import parse_workflow_config
from ..headers import parse_header
from . import context
from .execution import describe_error, run_body
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
        """A named step with options (``--when EXPR``); see docs/format.md for each option."""
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
            reporter.finish("failed", error=describe_error(exc))
            raise
        context.current().result = value
        reporter.finish("succeeded", value=value)
        return value
