"""``jetnb run`` takes papermill's command-line habits: its parameter sources, ``--cwd``, ``-k``, time limits,
``--log-output``, ``--prepare-only``, an output path, and notebooks at URLs (a real S3 API from moto on
127.0.0.1, and a local HTTP server). Every run is a real kernel through the real CLI."""

from __future__ import annotations

import base64
import http.server
import json
import threading
from functools import partial
from pathlib import Path

import pytest

from conftest import notebook, run_json
from jetnb.store import Store

ECHO = ["%load_ext jetnb", "%%workflow\nname: echo",
        ("params", "name: str = 'World'\ntimes: int = 1\nmood: str = 'calm'"),
        "%%step where\nimport os\nfolder = os.getcwd()\nprint('hello from', name)",
        "%%result\n{'name': name, 'times': times, 'mood': mood, 'folder': folder}"]


def runs(project: Path) -> list[dict]:
    store = Store(project / ".jetnb" / "jetnb.db")
    try:
        return store.list_runs(limit=100)
    finally:
        store.close()


def test_parameter_sources_merge_in_papermill_order(cli, make_nb, project):
    make_nb("echo.ipynb", ECHO)
    (project / "a.yaml").write_text("name: from-file\ntimes: 2\n")
    (project / "b.json").write_text('{"mood": "from-second-file"}')
    encoded = base64.b64encode(b"name: from-base64\nmood: from-base64\n").decode()
    result = cli("run", "echo.ipynb", "-b", encoded, "-f", "a.yaml", "--parameters_file", "b.json",
                 "-y", "times: 3", "-r", "mood", "raw text", "--no-progress-bar", "--json")
    run = run_json(result)
    # -b < -f (in order) < -y < -p < -r, as papermill merges them
    assert run["result"] | {"folder": None} == {"name": "from-file", "times": 3, "mood": "raw text", "folder": None}
    assert "[1/2]" in result.stderr  # --no-progress-bar is accepted; jetnb's step lines stay


def test_papermill_sources_are_checked_like_a_parameters_file(cli, make_nb, project):
    make_nb("echo.ipynb", ECHO)
    quoted = cli("run", "echo.ipynb", "-y", "times: '3'")
    assert quoted.returncode == 2
    assert "parameter 'times': expected int, got '3'" in quoted.stderr
    assert "note: jetnb checks each value against the type the parameters cell declares" in quoted.stderr
    unknown = cli("run", "echo.ipynb", "-r", "nmae", "x")
    assert unknown.returncode == 2 and "unknown parameter 'nmae' (did you mean 'name'?)" in unknown.stderr
    assert "jetnb refuses unknown parameters (papermill only warns" in unknown.stderr
    bad = cli("run", "echo.ipynb", "-b", "not base64!", "-y", "[1, 2]", "-y", "a: [")
    assert bad.returncode == 2
    assert "-b/--parameters_base64 #1: not base64 of UTF-8 text" in bad.stderr
    assert "-y/--parameters_yaml #1: expected a mapping of parameter names to values, got list" in bad.stderr
    assert "-y/--parameters_yaml #2: invalid YAML" in bad.stderr
    assert "Traceback" not in bad.stderr and runs(project) == []


def test_cwd_kernel_and_output_copy(cli, make_nb, project):
    nb = make_nb("echo.ipynb", ECHO)
    raw = json.loads(nb.read_text())
    raw["metadata"]["kernelspec"]["name"] = "no-such-kernel"  # -k wins over the notebook's kernelspec
    nb.write_text(json.dumps(raw))
    (project / "work").mkdir()
    result = cli("run", "echo.ipynb", "out/echo-copy.ipynb", "--cwd", "work", "-k", "python3", "--json")
    run = run_json(result)
    assert run["status"] == "succeeded" and run["result"]["folder"] == str(project / "work")
    assert run["options"] == {"cwd": str(project / "work"), "kernel": "python3"}
    copy = json.loads((project / "out" / "echo-copy.ipynb").read_text())
    assert copy == json.loads(Path(run["log_path"]).read_text())  # the run log as it ended
    assert cli("run", "echo.ipynb", "-k", "nope").stderr.count("no kernel named 'nope' (installed: ") == 1
    assert cli("run", "echo.ipynb", "--cwd", "missing").returncode == 2

    rerun = run_json(cli("rerun", run["id"], "--json"))  # a rerun executes the same way
    assert rerun["status"] == "succeeded" and rerun["result"]["folder"] == str(project / "work")
    assert rerun["options"] == run["options"]


def test_output_copy_is_written_whatever_the_status(cli, make_nb, project):
    make_nb("boom.ipynb", ["%%step boom\nraise ValueError('no')"])
    result = cli("run", "boom.ipynb", "boom-out.ipynb")
    assert result.returncode == 1
    copied = json.loads((project / "boom-out.ipynb").read_text())
    assert copied["metadata"]["jetnb"]["status"] == "failed"
    unwritable = cli("run", "boom.ipynb", "/proc/no/such/dir/x.ipynb")
    assert unwritable.returncode == 1 and "cannot write /proc/no/such/dir/x.ipynb" in unwritable.stderr


def test_timeouts_and_log_output(cli, make_nb, project):
    make_nb("slow.ipynb", ["%%step talk\nprint('said aloud')", "%%step nap\nimport time\ntime.sleep(30)"])
    result = cli("run", "slow.ipynb", "--execution-timeout", "2", "--start-timeout", "45", "--log-output", "--json")
    run = run_json(result)
    assert run["status"] == "failed" and run["options"] == {"start_timeout": 45.0, "execution_timeout": 2.0}
    assert "Cell execution timed out" in run["error"]["message"] or "Timeout" in run["error"]["type"]
    assert "said aloud" in result.stderr  # the notebook's output, streamed as papermill's --log-output does
    assert "NotebookNode object" not in result.stderr
    assert cli("run", "slow.ipynb", "--execution-timeout", "0").returncode == 2


def test_prepare_only_writes_the_parameterised_notebook_and_records_nothing(cli, make_nb, project):
    make_nb("echo.ipynb", ECHO)
    result = cli("run", "echo.ipynb", "prepared.ipynb", "-p", "times", "4", "--prepare-only")
    assert result.returncode == 0, result.stderr
    assert "not executed; nothing recorded" in result.stderr
    cells = json.loads((project / "prepared.ipynb").read_text())["cells"]
    injected = [c for c in cells if "injected-parameters" in c["metadata"].get("tags", [])]
    assert len(injected) == 1 and "times = 4" in "".join(injected[0]["source"])
    assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code")
    assert runs(project) == [] and not (project / "runs").exists()
    no_output = cli("run", "echo.ipynb", "--prepare-only")
    assert no_output.returncode == 2 and "give an output path" in no_output.stderr
    bad = cli("run", "echo.ipynb", "prepared2.ipynb", "-p", "times", "x", "--prepare-only")
    assert bad.returncode == 2 and not (project / "prepared2.ipynb").exists()


@pytest.fixture
def s3(monkeypatch):
    """A real S3 API (moto's server) on 127.0.0.1, fake credentials, and a bucket."""
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL": f"http://{host}:{port}",
                       "BOTO3_ENDPOINT_URL": f"http://{host}:{port}"}.items():
        monkeypatch.setenv(key, value)
    client = boto3.client("s3")
    client.create_bucket(Bucket="flows")
    yield client
    server.stop()


def test_notebook_and_output_on_s3(cli, project, s3):
    local = notebook(ECHO, project / "staged.ipynb")
    s3.upload_file(str(local), "flows", "team/echo.ipynb")
    local.unlink()
    result = cli("run", "s3://flows/team/echo.ipynb", "s3://flows/out/echo-run.ipynb", "-p", "name", "S3", "--json")
    run = run_json(result)
    assert run["status"] == "succeeded" and run["notebook"] == "s3://flows/team/echo.ipynb"
    assert run["result"]["name"] == "S3" and run["result"]["folder"] == str(project)  # papermill's: where you are
    copied = json.loads(s3.get_object(Bucket="flows", Key="out/echo-run.ipynb")["Body"].read())
    assert copied["metadata"]["jetnb"]["run_id"] == run["id"]
    prepared = cli("run", "s3://flows/team/echo.ipynb", "s3://flows/out/prepared.ipynb", "--prepare-only")
    assert prepared.returncode == 0, prepared.stderr
    assert s3.head_object(Bucket="flows", Key="out/prepared.ipynb")["ContentLength"] > 0
    missing = cli("run", "s3://flows/team/nothing.ipynb")
    assert missing.returncode == 2 and "cannot read s3://flows/team/nothing.ipynb" in missing.stderr
    assert "Traceback" not in missing.stderr


class QuietFiles(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def web(project):
    """A local HTTP server for the project folder."""
    served = project / "www"
    served.mkdir()
    handler = partial(QuietFiles, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_notebook_over_http(cli, project, web):
    folder, url = web
    notebook(ECHO, folder / "echo.ipynb")
    run = run_json(cli("run", f"{url}/echo.ipynb", "-p", "times", "2", "--json"))
    assert run["status"] == "succeeded" and run["notebook"] == f"{url}/echo.ipynb" and run["workflow"] == "echo"
    resumed_from_url = run_json(cli("rerun", run["id"], "--json"))  # fetched again from its URL
    assert resumed_from_url["status"] == "succeeded" and resumed_from_url["notebook"] == run["notebook"]
    missing = cli("run", f"{url}/nothing.ipynb")
    assert missing.returncode == 2 and "404" in missing.stderr and "Traceback" not in missing.stderr
    notebook(["%%step bad\nx = (", "1"], folder / "broken.ipynb")
    broken = cli("run", f"{url}/broken.ipynb")
    assert broken.returncode == 2 and f"{url}/broken.ipynb: cell 1: line 2: syntax error" in broken.stderr
