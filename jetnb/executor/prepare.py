"""``jetnb run --prepare-only``: the parameterised notebook papermill would execute, written without executing it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .fastimport import skip_unused_grammar
from .remote import RemoteIOError, handlers


def write_prepared(notebook: Path, output: str, params: dict[str, Any], kernel: str | None) -> None:
    """papermill's own ``prepare_only``: its ``injected-parameters`` cell after the parameters cell and its
    metadata, written to ``output`` (a path or a URL) through its I/O handlers; no kernel starts."""
    skip_unused_grammar()
    import papermill

    handlers()  # jetnb's checked HTTP handler in front
    try:
        papermill.execute_notebook(str(notebook), output, parameters=params, prepare_only=True, kernel_name=kernel,
                                   progress_bar=False)
    except Exception as exc:
        raise RemoteIOError(f"cannot write {output}: {exc}") from None
