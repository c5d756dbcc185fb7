"""Run a cell body in the notebook's namespace the way IPython would, returning the last expression's value.

A ``%%step`` cell is a magic, so IPython hands us its body as text; we
compile it through IPython's own transformer and cache, so ``!cmd``,
``%magic`` and tracebacks that show the source all work as in a plain cell.
"""

from __future__ import annotations

import ast
import traceback
from pathlib import Path
from typing import Any

_RUNTIME_DIR = str(Path(__file__).resolve().parent)


def run_body(shell: Any, body: str) -> Any:
    """Execute ``body`` in the user namespace; the value of a final bare expression is returned."""
    __tracebackhide__ = True
    source = "\n" + shell.transform_cell(body)  # the header is line 1, so body lines keep the cell's numbering
    filename = shell.compile.cache(source, shell.execution_count)
    tree = ast.parse(source, filename=filename)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    namespace = shell.user_ns
    if tree.body:
        exec(compile(tree, filename, "exec"), namespace)
    if last is None:
        return None
    return eval(compile(ast.Expression(last.value), filename, "eval"), namespace)


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
