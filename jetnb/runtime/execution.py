"""Run a cell body in the notebook's namespace the way IPython would, returning the last expression's value.

A ``%%step`` cell is a magic, so IPython hands us its body as text; we
compile it through IPython's own transformer and cache, so ``!cmd``,
``%magic`` and tracebacks that show the source all work as in a plain cell.
"""

from __future__ import annotations

import ast
import traceback
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any

_RUNTIME_DIR = str(Path(__file__).resolve().parent)


@dataclass(frozen=True)
class CompiledBody:
    statements: CodeType | None
    last_expression: CodeType | None

    def run(self, namespace: dict[str, Any]) -> Any:
        """Execute in ``namespace``; the value of a final bare expression is returned."""
        __tracebackhide__ = True
        if self.statements is not None:
            exec(self.statements, namespace)
        if self.last_expression is None:
            return None
        return eval(self.last_expression, namespace)


def compile_body(shell: Any, body: str) -> CompiledBody:
    """Compile once (iterators run the same body per item); line numbers match the cell's."""
    source = "\n" + shell.transform_cell(body)  # the header is line 1
    filename = shell.compile.cache(source, shell.execution_count)
    tree = ast.parse(source, filename=filename)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    statements = compile(tree, filename, "exec") if tree.body else None
    expression = compile(ast.Expression(last.value), filename, "eval") if last is not None else None
    return CompiledBody(statements, expression)


def run_body(shell: Any, body: str) -> Any:
    __tracebackhide__ = True
    return compile_body(shell, body).run(shell.user_ns)


def describe_error(exc: BaseException) -> dict[str, Any]:
    """A JSON-ready account of an exception, without jetnb's own frames in the traceback."""
    tb = traceback.TracebackException.from_exception(exc)
    tb.stack = traceback.StackSummary.from_list(
        [frame for frame in tb.stack if not frame.filename.startswith(_RUNTIME_DIR)]
    )
    return {
        "type": type(exc).__name__,
        "message": str(exc),
        "traceback": "".join(tb.format()),
    }
