"""The run journal's entry files, without a kernel: written in place, a torn one refused, an older one still read."""

from __future__ import annotations

import pickle
import types

import pytest

from jetnb.runtime.journal import Journal


def shell(**names: object) -> types.SimpleNamespace:
    return types.SimpleNamespace(user_ns=dict(names), user_ns_hidden={})


def test_an_entry_is_restored_as_recorded(tmp_path):
    Journal(str(tmp_path)).record(shell(total=41, rows=[1, 2]), "load")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["load.pkl"]  # no temporary file left behind
    resumed = shell()
    Journal(str(tmp_path)).restore(resumed, "load")
    assert resumed.user_ns == {"total": 41, "rows": [1, 2]}


@pytest.mark.parametrize("keep", [0, 10, 30, -1])
def test_an_entry_its_kernel_stopped_writing_is_not_restored(tmp_path, keep):
    Journal(str(tmp_path)).record(shell(rows=list(range(100))), "load")
    entry = tmp_path / "load.pkl"
    entry.write_bytes(entry.read_bytes()[:keep])  # what a kill -9 midway leaves
    with pytest.raises(FileNotFoundError, match="journal entry of step 'load' .* is incomplete"):
        Journal(str(tmp_path)).restore(shell(), "load")


def test_an_entry_written_before_entries_were_framed_is_still_restored(tmp_path):
    Journal(str(tmp_path)).record(shell(total=41), "load")
    entry = tmp_path / "load.pkl"
    framed = entry.read_bytes()
    entry.write_bytes(framed[framed.index(b"\n") + 1 + 16:])  # the bare pickle an older jetnb wrote
    assert isinstance(pickle.loads(entry.read_bytes()), dict)
    resumed = shell()
    Journal(str(tmp_path)).restore(resumed, "load")
    assert resumed.user_ns == {"total": 41}
