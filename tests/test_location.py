"""jetnb.location: run files on a local folder or an fsspec URL (memory:// here; s3:// in test_dask_backend.py)."""

from __future__ import annotations

import uuid

import pytest

from jetnb import location
from jetnb.runfiles import journal_dir


@pytest.fixture(params=["local", "memory"])
def base(request, tmp_path) -> str:
    return str(tmp_path / "runs") if request.param == "local" else f"memory://jetnb-{uuid.uuid4().hex[:8]}/runs"


def test_write_read_list_remove(base):
    log = location.join(base, "flow", "run-1.ipynb")
    assert not location.exists(log) and location.listdir(location.join(base, "flow")) == []
    location.write_atomic(log, '{"cells": []}')
    location.write_atomic(location.join(journal_dir(log), "step.pkl"), b"\x80\x04binary\x00")
    assert location.read_text(log) == '{"cells": []}' and location.is_file(log)
    assert location.read_bytes(location.join(journal_dir(log), "step.pkl")) == b"\x80\x04binary\x00"
    assert location.listdir(location.join(base, "flow")) == ["run-1.ipynb", "run-1.journal"]
    location.write_atomic(log, "second")  # replaced whole, no temporary file left beside it
    assert location.read_text(log) == "second"
    assert location.listdir(location.join(base, "flow")) == ["run-1.ipynb", "run-1.journal"]
    assert location.remove_tree(journal_dir(log)) and not location.exists(journal_dir(log))
    assert not location.remove_tree(journal_dir(log))
    with pytest.raises(FileNotFoundError):
        location.read_bytes(location.join(base, "flow", "nothing.ipynb"))


def test_urls_keep_their_slashes_and_paths_resolve(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert location.join("s3://bucket/runs/", "flow", "r.ipynb") == "s3://bucket/runs/flow/r.ipynb"
    assert location.absolute("s3://bucket/runs/") == "s3://bucket/runs"
    assert location.absolute("runs") == str(tmp_path / "runs")


def test_an_unknown_scheme_is_one_clear_error():
    with pytest.raises(location.LocationError, match="nosuch://x/y"):
        location.read_bytes("nosuch://x/y")


def test_pruning_removes_a_runs_files_at_a_url():
    from jetnb.service.retention import remove_run_files

    log = f"memory://prune-{uuid.uuid4().hex[:8]}/runs/flow/20260101-000000-abcdef.ipynb"
    location.write_atomic(log, "{}")
    location.write_atomic(location.join(journal_dir(log), "a.pkl"), b"x")
    location.write_atomic(log[: -len(".ipynb")] + "/artifacts/report.csv", "a,b")
    problems: list[str] = []
    assert remove_run_files("20260101-000000-abcdef", log, problems) == 3 and problems == []
    assert location.listdir(log.rsplit("/", 1)[0]) == []
