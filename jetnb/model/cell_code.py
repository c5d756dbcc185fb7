"""What IPython would make of a cell's code, known before the run: syntax errors and misspelled jetnb cell magics.

A body is compiled the way the kernel compiles it: through IPython's own
input transformer (so ``!cmd``, ``%magic`` and other cell magics are fine),
then ``compile()``. Line numbers are the cell's own, as the person sees
them: the header line and the blank lines IPython drops are counted back.
"""

from __future__ import annotations

import ast
import difflib
import functools
import re
import warnings

from ..quoting import clipped
from .headers import MAGICS

# IPython's built-in cell magics (IPython 8/9, ``%lsmagic``): never mistaken for a misspelled jetnb magic
IPYTHON_CELL_MAGICS = frozenset({
    "!", "HTML", "SVG", "bash", "capture", "code_wrap", "debug", "file", "html", "javascript", "js", "latex",
    "markdown", "perl", "prun", "pypy", "python", "python2", "python3", "ruby", "script", "sh", "svg", "sx",
    "system", "time", "timeit", "writefile",
})
MAGIC_CUTOFF = 0.7  # difflib ratio: stepp, reslt, handle, Step are close; time, sql, script are not
_CELL_MAGIC = re.compile(r"%%(\S+)")


@functools.lru_cache(maxsize=4096)
def syntax_problem(body: str, first_line: int, top_level_await: bool) -> str | None:
    """``line L: syntax error: ...`` for a body whose first line is line ``first_line`` of its cell, or None.

    ``top_level_await``: plain cells may ``await`` at top level (IPython's
    autoawait); ``%%step`` bodies may not (docs/decisions.md). Remembered per
    body: a run loads its notebook several times (validation, execution,
    admission), and compiling each cell again each time was most of a load.
    """
    from ..executor.fastimport import one_importer  # as schema.py: the executor's import guard, imported on use

    with one_importer():  # jetnb run's head start may be importing IPython in another thread
        from IPython.core.inputtransformer2 import TransformerManager

    dropped = _leading_blank_lines(body)
    flags = ast.PyCF_ALLOW_TOP_LEVEL_AWAIT if top_level_await else 0
    try:
        with warnings.catch_warnings():  # SyntaxWarnings are the kernel's to show, when the cell runs
            warnings.simplefilter("ignore")
            compile(TransformerManager().transform_cell(body), "<cell>", "exec", flags=flags, dont_inherit=True)
    except SyntaxError as exc:
        line = first_line + dropped + (exc.lineno or 1) - 1
        return f"line {line}: syntax error: {clipped(exc.msg, 120)}"
    except (ValueError, IndexError, RecursionError, MemoryError, OverflowError) as exc:  # NUL bytes; too deep
        return f"line {first_line + dropped}: syntax error: {clipped(str(exc) or type(exc).__name__, 120)}"
    return None


def _leading_blank_lines(body: str) -> int:
    """How many blank lines IPython's ``leading_empty_lines`` cleanup drops before compiling."""
    count = 0
    for line in body.splitlines():
        if line and not line.isspace():
            break
        count += 1
    return count


def magic_problem(source: str) -> str | None:
    """``unknown cell magic %%stepp (did you mean %%step?)`` for a cell magic that is a near miss of jetnb's."""
    match = _CELL_MAGIC.match(source.lstrip())
    if not match or match.group(1) in IPYTHON_CELL_MAGICS or match.group(1) in MAGICS:
        return None
    close = difflib.get_close_matches(match.group(1), MAGICS, n=1, cutoff=MAGIC_CUTOFF)
    if not close:
        return None  # another extension's magic: the kernel knows it or says so
    return f"unknown cell magic %%{clipped(match.group(1), 40)} (did you mean %%{close[0]}?)"
