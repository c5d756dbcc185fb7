"""``jetnb.artifact`` in real runs (real kernels, the real CLI, a real SQLite store): each kind of data, names and
limits refused with one clear line, secrets masked in text artifacts, ``jetnb artifacts`` listing and downloading,
and the lifecycle (rerun, resume, cancel, failure, prune). The kernel-side rules are also called in this process,
with a run context of their own, where a run would take too long to reach them (the count limit)."""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from conftest import run_json
from servekit import wait_for
from jetnb.artifact_rules import ArtifactError, check_name
from jetnb.protocol import RunContext
from jetnb.runtime import artifacts as kernel_artifacts
from jetnb.runtime import context
from jetnb.store import Store

SECRET = "sk-artifact-7e1d2c3b4a"

KINDS = ["%load_ext jetnb", "%%workflow\nname: kinds\nsecrets: [API_TOKEN]",
         """%%step make
import jetnb, pathlib
import matplotlib
matplotlib.use('Agg')
import matplotlib.pyplot as plt
import pandas as pd
jetnb.artifact('raw.bin', bytes(range(256)))
jetnb.artifact('note.txt', 'token is ' + jetnb.secret('API_TOKEN') + '\\n', description='a note')
pathlib.Path('report.pdf').write_bytes(b'%PDF-1.4 fake')
jetnb.artifact('copy.pdf', pathlib.Path('report.pdf'))
folder = pathlib.Path('bundle'); (folder / 'sub').mkdir(parents=True, exist_ok=True)
(folder / 'a.txt').write_text('A'); (folder / 'sub' / 'b.txt').write_text('B')
jetnb.artifact('bundle', folder)
figure = plt.figure(); plt.plot([1, 3, 2])
jetnb.artifact('chart', figure)
jetnb.artifact('chart.svg', figure)
table = pd.DataFrame({'id': [1, 2], 'who': ['Ada', jetnb.secret('API_TOKEN')]})
jetnb.artifact('table', table)
jetnb.artifact('table.parquet', table)
jetnb.artifact('page.html', '<script>alert(1)</script>', mime='text/html')""",
         "%%step again\njetnb.artifact('note.txt', 'replaced')"]


def store_of(project: Path) -> Store:
    return Store(project / ".jetnb" / "jetnb.db")


def folder_of(run: dict) -> Path:
    return Path(run["log_path"]).with_suffix("") / "artifacts"


def test_each_kind_is_saved_recorded_and_masked(cli, make_nb, project):
    make_nb("kinds.ipynb", KINDS)
    run = run_json(cli("run", "kinds.ipynb", "--json", "-q", env={"API_TOKEN": SECRET}))
    assert run["status"] == "succeeded", run["error"]
    by_name = {a["name"]: a for a in run["artifacts"]}
    assert list(by_name) == ["raw.bin", "copy.pdf", "bundle.zip", "chart.png", "chart.svg", "table.csv",
                             "table.parquet", "page.html", "note.txt"]  # note.txt saved again last
    folder = folder_of(run)
    assert sorted(p.name for p in folder.iterdir()) == sorted(by_name)  # no temporary file left behind
    for name, artifact in by_name.items():
        data = (folder / name).read_bytes()
        assert artifact["size"] == len(data) and artifact["sha256"] == hashlib.sha256(data).hexdigest()
    assert (folder / "raw.bin").read_bytes() == bytes(range(256))
    assert (folder / "copy.pdf").read_bytes() == b"%PDF-1.4 fake"
    assert zipfile.ZipFile(folder / "bundle.zip").namelist() == ["a.txt", "sub/b.txt"]
    assert (folder / "chart.png").read_bytes().startswith(b"\x89PNG")
    assert b"<svg" in (folder / "chart.svg").read_bytes()
    assert (folder / "table.csv").read_text() == "id,who\n1,Ada\n2,***\n"  # masked, like every text
    assert list(pd.read_parquet(folder / "table.parquet")["id"]) == [1, 2]
    assert (folder / "note.txt").read_text() == "replaced"
    mimes = {name: a["mime"] for name, a in by_name.items()}
    assert mimes == {"raw.bin": "application/octet-stream", "copy.pdf": "application/pdf",
                     "bundle.zip": "application/zip", "chart.png": "image/png", "chart.svg": "image/svg+xml",
                     "table.csv": "text/csv", "table.parquet": "application/vnd.apache.parquet",
                     "page.html": "text/html", "note.txt": "text/plain"}
    assert by_name["note.txt"]["step"] == "again" and by_name["raw.bin"]["step"] == "make"
    assert by_name["note.txt"]["description"] is None  # replaced whole, description included
    shown = cli("show", run["id"]).stdout
    assert f"artifacts (jetnb artifacts {run['id']} NAME)" in shown and "chart.png  " in shown
    for path in project.rglob("*"):  # the secret is nowhere jetnb wrote
        if path.is_file() and path.suffix != ".parquet":
            assert SECRET.encode() not in path.read_bytes(), path


def test_masking_applies_to_a_text_file_given_by_path_and_names_hold_no_secret(cli, make_nb, project):
    make_nb("m.ipynb", ["%load_ext jetnb", "%%workflow\nname: m\nsecrets: [API_TOKEN]",
                        "import jetnb, pathlib\npathlib.Path('out.csv').write_text('k,' + jetnb.secret('API_TOKEN'))\n"
                        "jetnb.artifact('out.csv', pathlib.Path('out.csv'))",
                        "%%step named\njetnb.artifact(jetnb.secret('API_TOKEN') + '.txt', 'x')"])
    run = run_json(cli("run", "m.ipynb", "--json", "-q", env={"API_TOKEN": SECRET}))
    assert run["status"] == "failed" and run["error"]["step"] == "named"
    assert run["error"]["message"] == ("an artifact name holds one of the run's secret values; choose another "
                                       "name")
    assert (folder_of(run) / "out.csv").read_text() == "k,***"
    assert os.listdir(folder_of(run)) == ["out.csv"]
    assert run["artifacts"][0]["step"] == "cell-3"  # a plain cell's artifact belongs to its cell's step


@pytest.mark.parametrize("name,message", [
    ("../escape.txt", "must be a file name, without '/', '\\' or '..'"),
    ("/etc/passwd", "must be a file name"),
    ("a\\b.txt", "must be a file name"),
    ("..", "must be a file name"),
    (".hidden", "must not start with '.'"),
    ("bell\x07.txt", "holds control characters"),
    ("x" * 201, "is 201 characters long; at most 200"),
    ("", "artifact name is empty"),
])
def test_bad_names_are_refused(name, message):
    with pytest.raises(ArtifactError, match=re.escape(message)):
        check_name(name)


def test_a_traversing_name_and_an_oversized_artifact_fail_their_step_and_write_nothing(cli, make_nb, project):
    make_nb("bad.ipynb", ["%load_ext jetnb", "%%workflow\nname: bad\nartifacts_max_bytes: 1KiB",
                          "%%step ok\nimport jetnb\njetnb.artifact('first.txt', 'x' * 600)",
                          "%%step big\njetnb.artifact('second.txt', 'y' * 600)"])
    run = run_json(cli("run", "bad.ipynb", "--json", "-q"))
    assert run["status"] == "failed"
    assert run["error"]["step"] == "big" and run["error"]["type"] == "ArtifactError"
    assert run["error"]["message"] == ("artifact 'second.txt' (600 bytes) would pass the run's artifact limit of "
                                       "1,024 bytes (1.0 KiB; 600 used); raise `artifacts_max_bytes:` in the "
                                       "%%workflow cell or $JETNB_ARTIFACTS_MAX_BYTES")
    assert [a["name"] for a in run["artifacts"]] == ["first.txt"]  # kept: the run failed after it
    assert sorted(os.listdir(folder_of(run))) == ["first.txt"]

    make_nb("escape.ipynb", ["%load_ext jetnb", "%%workflow\nname: escape",
                             "%%step out\nimport jetnb\njetnb.artifact('../../escape.txt', 'x')"])
    run = run_json(cli("run", "escape.ipynb", "--json", "-q"))
    assert run["status"] == "failed" and run["error"]["type"] == "ArtifactError"
    assert "'../../escape.txt' must be a file name" in run["error"]["message"]
    assert run["artifacts"] == [] and not list(project.rglob("escape.txt"))


def test_the_environment_sets_the_limit_and_the_workflow_key_is_checked(cli, make_nb, project):
    make_nb("env.ipynb", ["%load_ext jetnb", "%%workflow\nname: env",
                          "%%step s\nimport jetnb\njetnb.artifact('a.bin', b'0' * 2048)"])
    run = run_json(cli("run", "env.ipynb", "--json", "-q", env={"JETNB_ARTIFACTS_MAX_BYTES": "2KB"}))
    assert run["status"] == "failed"
    assert "(2,048 bytes) would pass the run's artifact limit of 2,000 bytes" in run["error"]["message"]
    assert run_json(cli("run", "env.ipynb", "--json", "-q", env={"JETNB_ARTIFACTS_MAX_BYTES": "3KB"}))[
        "status"] == "succeeded"
    make_nb("key.ipynb", ["%load_ext jetnb", "%%workflow\nname: key\nartifacts_max_bytes: lots", "pass"])
    checked = cli("check", "key.ipynb")
    assert checked.returncode == 1 and "artifacts_max_bytes: expected a size such as 1048576 or 1MiB" in (
        checked.stdout + checked.stderr)


def test_the_count_limit_and_unsaveable_values(tmp_path, monkeypatch):
    """The kernel's rules, called here with a run context as the runner would give it."""
    monkeypatch.setattr(kernel_artifacts, "MAX_COUNT", 3)
    context.start(RunContext(run_id="r", artifacts_dir=str(tmp_path / "a"), artifacts_max_bytes=10_000))
    try:
        for n in range(3):
            kernel_artifacts.artifact(f"f{n}.txt", str(n))
        kernel_artifacts.artifact("f0.txt", "again")  # replacing one is not one more
        with pytest.raises(ArtifactError, match="already has 3 artifacts, the most one run may keep"):
            kernel_artifacts.artifact("f3.txt", "3")
        with pytest.raises(ArtifactError, match="cannot save a dict; give bytes, text"):
            kernel_artifacts.artifact("d.json", {"a": 1})
        with pytest.raises(ArtifactError, match="no file or folder"):
            kernel_artifacts.artifact("gone.txt", tmp_path / "nope")
        with pytest.raises(ArtifactError, match="a table is saved as .csv, .parquet, .json; not .xlsx"):
            kernel_artifacts.artifact("t.xlsx", pd.DataFrame({"a": [1]}))
        with pytest.raises(ArtifactError, match="mime must look like"):
            kernel_artifacts.artifact("m.txt", "x", mime="text")
        with pytest.raises(ArtifactError, match="description must be text, got int"):
            kernel_artifacts.artifact("m.txt", "x", description=3)
        assert sorted(os.listdir(tmp_path / "a")) == ["f0.txt", "f1.txt", "f2.txt"]
    finally:
        context.start(RunContext())


def test_without_a_run_the_call_writes_to_the_scratch_folder_and_says_where(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    context.start(RunContext())
    path = kernel_artifacts.artifact("hello.txt", "hi")
    assert path == Path("jetnb-artifacts") / "notebook" / "hello.txt" and path.read_text() == "hi"
    said = capsys.readouterr().out
    assert "artifact `hello.txt` (2 B) saved to [jetnb-artifacts/notebook/hello.txt]" in said
    assert "not kept with a run" in said
    monkeypatch.setenv("JETNB_SCRATCH_DIR", str(tmp_path / "elsewhere"))
    assert kernel_artifacts.artifact("b.bin", b"1").parent == tmp_path / "elsewhere" / "notebook"


def test_in_a_lab_kernel_the_scratch_message_is_displayed(make_nb, project):
    """A real kernel, cell by cell as JupyterLab would run it (no runner): the message is a displayed output."""
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(project))
    try:
        outputs = []
        code = "%load_ext jetnb\n%%workflow\nname: lab"  # the magic must be alone: run the two apart
        for source in ("%load_ext jetnb", "%%workflow\nname: lab", "import jetnb\njetnb.artifact('x.csv', 'a,b')"):
            kc.execute_interactive(source, output_hook=outputs.append, timeout=60)
        shown = [m["content"]["data"]["text/markdown"] for m in outputs if m["msg_type"] == "display_data"
                 and "text/markdown" in m["content"].get("data", {})]
        assert shown == ["artifact `x.csv` (3 B) saved to [jetnb-artifacts/lab/x.csv](jetnb-artifacts/lab/x.csv) — "
                         "not kept with a run: this notebook is not running under jetnb"], code
        assert (project / "jetnb-artifacts" / "lab" / "x.csv").read_text() == "a,b"
        assert not (project / ".jetnb").exists()  # nothing recorded
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def test_list_and_download_through_the_cli(cli, make_nb, project):
    make_nb("two.ipynb", ["%load_ext jetnb", "%%workflow\nname: two",
                          "%%step s\nimport jetnb\njetnb.artifact('a.csv', 'x,y\\n1,2\\n', description='numbers')\n"
                          "jetnb.artifact('b.bin', b'\\x00\\xff')"])
    ran = cli("run", "two.ipynb")
    assert ran.returncode == 0 and "artifacts: a.csv, b.bin (jetnb artifacts " in ran.stdout
    run_id = store_of(project).list_runs(limit=1)[0]["id"]
    listed = cli("artifacts", run_id[:15])
    assert listed.returncode == 0
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["NAME", "SIZE", "TYPE", "STEP", "SAVED", "(UTC)", "DESCRIPTION"]
    assert lines[1].split()[:5] == ["a.csv", "8", "B", "text/csv", "s"] and lines[1].endswith("numbers")
    as_json = json.loads(cli("artifacts", run_id, "--json").stdout)
    assert [a["name"] for a in as_json] == ["a.csv", "b.bin"] and as_json[1]["size"] == 2

    assert cli("artifacts", run_id, "a.csv").stdout.strip() == f"saved a.csv (8 bytes) to a.csv"
    assert (project / "a.csv").read_text() == "x,y\n1,2\n"
    assert cli("artifacts", run_id, "b.bin", "-o", "out/").returncode == 0
    assert (project / "out" / "b.bin").read_bytes() == b"\x00\xff"
    assert cli("artifacts", run_id, "b.bin", "-o", "out/renamed.bin").returncode == 0
    assert (project / "out" / "renamed.bin").read_bytes() == b"\x00\xff"
    piped = subprocess.run([sys.executable, "-m", "jetnb", "artifacts", run_id, "b.bin", "-o", "-"], cwd=project,
                           capture_output=True)
    assert piped.returncode == 0 and piped.stdout == b"\x00\xff"

    missing = cli("artifacts", run_id, "c.txt")
    assert missing.returncode == 2
    assert missing.stderr.strip() == f"jetnb: run {run_id} has no artifact 'c.txt' (it has: a.csv, b.bin)"
    sneaky = cli("artifacts", run_id, "../two.ipynb")
    assert sneaky.returncode == 2 and "must be a file name" in sneaky.stderr and not (project / "two.ipynb.1").exists()
    assert cli("artifacts", "nope").returncode == 2
    (folder_of(store_of(project).get_run(run_id)) / "a.csv").unlink()
    gone = cli("artifacts", run_id, "a.csv", "-o", "again.csv")
    assert gone.returncode == 2 and "the file of artifact 'a.csv'" in gone.stderr and "is gone" in gone.stderr


FLAKY = ["%load_ext jetnb", "%%workflow\nname: flaky", ("params", "flag: str = 'ok-now'"),
         "%%step first\nimport jetnb, os, time\njetnb.artifact('first.txt', 'first ' + str(time.time()))",
         "%%step second\njetnb.artifact('second.txt', 'attempt ' + str(os.path.exists(flag)))\n"
         "if not os.path.exists(flag):\n    jetnb.artifact('partial.txt', 'only when failing')\n"
         "    raise RuntimeError('not yet')"]


def test_failed_runs_keep_theirs_and_resume_keeps_completed_steps_and_rerun_keeps_both(cli, make_nb, project):
    make_nb("flaky.ipynb", FLAKY)
    failed = run_json(cli("run", "flaky.ipynb", "--json", "-q"))
    assert failed["status"] == "failed"
    assert [a["name"] for a in failed["artifacts"]] == ["first.txt", "second.txt", "partial.txt"]
    folder = folder_of(failed)
    first = (folder / "first.txt").read_text()
    assert (folder / "second.txt").read_text() == "attempt False"

    (project / "ok-now").touch()
    resumed = run_json(cli("resume", failed["id"], "--json", "-q"))
    assert resumed["status"] == "succeeded" and resumed["id"] == failed["id"]
    by_name = {a["name"]: a for a in resumed["artifacts"]}
    assert sorted(by_name) == ["first.txt", "second.txt"]  # the re-run step's leftovers are gone
    assert by_name["first.txt"] == {a["name"]: a for a in failed["artifacts"]}["first.txt"]  # restored, not re-run
    assert (folder / "first.txt").read_text() == first
    assert (folder / "second.txt").read_text() == "attempt True"
    assert sorted(os.listdir(folder)) == ["first.txt", "second.txt"]

    rerun = run_json(cli("rerun", failed["id"], "--json", "-q"))
    assert rerun["status"] == "succeeded" and rerun["id"] != failed["id"]
    assert folder_of(rerun) != folder and (folder_of(rerun) / "first.txt").read_text() != first
    assert (folder / "first.txt").read_text() == first  # the earlier run's files are untouched


HOLD = ["%load_ext jetnb", "%%workflow\nname: hold",
        "%%step make\nimport jetnb, os, time\njetnb.artifact('early.txt', 'made before the end')\n"
        "t0 = time.monotonic()\nwhile time.monotonic() - t0 < 60:\n    time.sleep(0.05)"]


def test_a_cancelled_run_keeps_what_it_made_and_prune_removes_it_all(cli, make_nb, project):
    make_nb("hold.ipynb", HOLD)
    proc = subprocess.Popen([sys.executable, "-m", "jetnb", "run", "hold.ipynb", "--json", "-q"], cwd=project,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = store_of(project)
    run_id = wait_for(lambda: next((r["id"] for r in store.list_runs(limit=5) if store.artifacts(r["id"])), None),
                      "the artifact to be recorded")
    assert cli("cancel", run_id).returncode == 0
    out, err = proc.communicate(timeout=90)
    cancelled = json.loads(out)
    assert cancelled["status"] == "cancelled", err
    assert [a["name"] for a in cancelled["artifacts"]] == ["early.txt"]
    assert (folder_of(cancelled) / "early.txt").read_text() == "made before the end"

    pruned = cli("prune", "--keep-runs", "0", "--json")
    assert pruned.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout)["removed"] == 1
    assert not folder_of(cancelled).exists() and not Path(cancelled["log_path"]).exists()
    assert store.artifacts(run_id) == []


def test_artifacts_saved_in_the_same_millisecond_keep_their_order(tmp_path):
    """Saved times have millisecond precision: a step that saves two files at once lists them as saved, not by name
    (a faster kernel made the flaky-run test above see 'partial.txt' before 'second.txt')."""
    store = Store(tmp_path / "jetnb.db")
    run_id = store.create_run(workflow="w", notebook="w.ipynb", params={})
    for name in ("second.txt", "partial.txt", "a-first-by-name.txt"):
        store.record_artifact(run_id, name=name, size=1, mime="text/plain", sha256="0" * 64, created_at=1000.001)
    assert [a["name"] for a in store.artifacts(run_id)] == ["second.txt", "partial.txt", "a-first-by-name.txt"]
