"""The pre-started kernel pool: same results as the local backend, a fresh kernel per run, the notebook's folder."""

from __future__ import annotations

from jetnb.executor.pool import PooledBackend
from jetnb.executor import BACKENDS, close_backends, get_backend
from jetnb.runner import execute, prepare
from jetnb.store import Store


def test_pooled_runs_are_isolated_and_start_in_the_notebook_folder(make_nb, project):
    folder = project / "flows"
    folder.mkdir()
    path = make_nb("flows/isolated.ipynb", [
        "%load_ext jetnb",
        ("params", "mark: str = 'a'"),
        "%%step check\nseen_before = 'leak' in globals()\nleak = mark\nopen('where.txt', 'w').write(mark)",
        '%%result\n{"seen_before": seen_before}',
    ])
    store = Store(project / "jetnb.db")
    assert "pool" in BACKENDS and isinstance(get_backend("pool"), PooledBackend)
    results = []
    for mark in ("first", "second"):
        workflow, params = prepare(path, {"mark": mark})
        run_id = execute(store, workflow, params, runs_dir=project / "runs", trigger="test", trigger_detail=None,
                         rerun_of=None, progress=None, backend="pool")
        run = store.get_run(run_id)
        assert run["status"] == "succeeded", run["error"]
        results.append(run["result"])
        assert (folder / "where.txt").read_text() == mark
    assert results == [{"seen_before": False}, {"seen_before": False}]
    close_backends()
