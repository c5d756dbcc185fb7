"""The runner's first, silent call in a new kernel: the run context, the folder, the environment, the journal and the
run deadline."""

from __future__ import annotations

import os
import time
from typing import Any

from IPython import get_ipython

from ..protocol import RunContext
from . import context, headless_io
from .deadlines import set_run_deadline
from .journal import Journal


def configure(data: dict[str, Any]) -> context.KernelRun:
    """Called once before the first cell with ``RunContext.to_dict()``; a fresh state per run."""
    run_context = RunContext.from_dict(data)
    headless_io.install(get_ipython())
    if run_context.cwd:
        os.chdir(run_context.cwd)  # a pre-started kernel began elsewhere; relative paths mean the notebook's folder
    for name in run_context.withheld_env:  # a pre-started kernel inherited them; secrets and jetnb's credentials
        os.environ.pop(name, None)
    state = context.start(run_context)
    if run_context.journal_dir:
        state.journal = Journal(run_context.journal_dir)
    if run_context.timeout is not None:
        elapsed = time.time() - (run_context.run_started or time.time())
        set_run_deadline(run_context.timeout - elapsed,
                         f"workflow {run_context.workflow!r} exceeded its timeout of {run_context.timeout:g}s")
    return state
