"""papermill's ``execute_notebook`` for a notebook already in memory, without its serialisation round trips.

Given a notebook node, papermill serialises it, validates it, parses and
validates it again before running, and after the run serialises and
validates it once more to write it nowhere (``output_path=None``). For a
small run that is most of jetnb's own time. This does the same steps on
the node itself: papermill's metadata, its ``parameterize_notebook`` (the
``injected-parameters`` cell exactly as papermill writes it), its error
markers, its engine call and ``raise_for_execution_errors``. jetnb has
validated the notebook and the parameters before the run.
"""

from __future__ import annotations

from typing import Any

from .fastimport import skip_unused_grammar


def execute_node(nb: Any, parameters: dict[str, Any], *, kernel_name: str, input_path: str, **engine_kwargs: Any) -> Any:
    """Run ``nb`` (a v4 NotebookNode, changed in place until papermill copies it) on the jetnb engine.

    ``input_path`` is the notebook's path, recorded in the run log's papermill metadata as papermill's CLI does
    (given a node, papermill itself records the whole notebook there)."""
    skip_unused_grammar()
    from papermill import __version__
    from papermill.engines import papermill_engines
    from papermill.execute import prepare_notebook_metadata, raise_for_execution_errors, remove_error_markers
    from papermill.parameterize import parameterize_notebook

    nb.metadata.setdefault("papermill", {"default_parameters": {}, "parameters": {}, "environment_variables": {},
                                         "version": __version__})
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
        cell.metadata.setdefault("papermill", {})
    if parameters:
        nb = parameterize_notebook(nb, parameters, kernel_name=kernel_name, engine_name="jetnb")
    nb = remove_error_markers(prepare_notebook_metadata(nb, input_path, None))
    nb = papermill_engines.execute_notebook_with_engine("jetnb", nb, kernel_name=kernel_name, input_path=input_path,
                                                        output_path=None, **engine_kwargs)
    raise_for_execution_errors(nb, None)
    return nb
