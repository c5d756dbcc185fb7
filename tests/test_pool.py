"""The pre-started kernel pool: same results as the local backend, a fresh kernel per run, the notebook's folder."""

from __future__ import annotations

from jetnb.executor.pool import PooledBackend
from jetnb.executor import backend_names, close_backends, get_backend
from jetnb import run


def test_pooled_runs_are_isolated_and_start_in_the_notebook_folder(make_nb, project):
    folder = project / "flows"
    folder.mkdir()
    path = make_nb("flows/isolated.ipynb", [
        "%load_ext jetnb",
        ("params", "mark: str = 'a'"),
        "%%step check\nseen_before = 'leak' in globals()\nleak = mark\nopen('where.txt', 'w').write(mark)",
        '%%result\n{"seen_before": seen_before}',
    ])
    assert "pool" in backend_names() and isinstance(get_backend("pool"), PooledBackend)
    results = []
    for mark in ("first", "second"):
        record = run(path, {"mark": mark}, store=project / "jetnb.db", runs_dir=project / "runs", trigger="test",
                     backend="pool")
        assert record["status"] == "succeeded", record["error"]
        results.append(record["result"])
        assert (folder / "where.txt").read_text() == mark
    assert results == [{"seen_before": False}, {"seen_before": False}]
    close_backends()


def test_serve_runs_on_the_pool(server):
    from servekit import wait_for

    srv = server(args=("--backend", "pool"))
    srv.workflow("greet", ["%load_ext jetnb", "%%workflow\nname: greet", ("params", "name: str = 'World'"),
                           "%%result\n{'greeting': f'Hello, {name}!'}"])
    srv.start()
    runs = [srv.api("POST", "/api/workflows/greet/runs", json={"params": {"name": n}}).json()["run_id"]
            for n in ("Ada", "Lin")]
    for run_id, name in zip(runs, ("Ada", "Lin")):
        done = wait_for(lambda r=run_id: (run := srv.run(r))["status"] == "succeeded" and run, "a pooled run")
        assert done["result"] == {"greeting": f"Hello, {name}!"}
    assert srv.stop() == 0


def test_a_kernel_that_dies_mid_cell_fails_the_run_on_the_pool(make_nb, project):
    path = make_nb("dies.ipynb", ["%load_ext jetnb", "%%step die\nimport os\nos._exit(3)"])
    record = run(path, store=project / "jetnb.db", runs_dir=project / "runs", trigger="test", backend="pool")
    assert record["status"] == "failed" and record["error"]["type"] == "DeadKernelError"
    close_backends()
