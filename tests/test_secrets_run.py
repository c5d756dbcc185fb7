"""Secrets in real runs through the real CLI: declared secrets and ``Secret`` parameters reach the kernel, and no
raw value reaches any file under the project, ``jetnb show``/``runs``, or the kernel's environment.

The values are distinctive so that a grep over every file written cannot match anything by chance.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from conftest import run_json

ENV_SECRET = "sk-live-4f6c1d2e9a8b7c"  # MY_SECRET_TOKEN, in the environment of `jetnb run`
FILE_SECRET = "fs-3a9b8c7d6e5f4a"  # FILE_TOKEN, in a secrets file outside the project
API_KEY = "key-XYZ"  # a Secret parameter: -p api_key key-XYZ
CLI_TOKEN = "tok-jetnb-5e4d3c2b1a"  # a JETNB_TOKEN that happens to be set where jetnb run is started
RAW = (ENV_SECRET, FILE_SECRET, API_KEY, CLI_TOKEN)  # and bob's personal token (see `raw`)
WITHHELD = ("MY_SECRET_TOKEN", "FILE_TOKEN", "JETNB_TOKEN", "JETNB_USER_TOKEN", "JETNB_SECRETS_FILE")

PROBE = ("import hashlib, os, jetnb\n"
         "sha = lambda text: hashlib.sha256(text.encode()).hexdigest()\n"
         f"present = sorted(n for n in {WITHHELD!r} if n in os.environ)\n"
         "token = jetnb.secret('MY_SECRET_TOKEN')\n"
         "print(f'calling with token={token}; file={jetnb.secret(\"FILE_TOKEN\")} key={api_key}!')\n"
         "history = [cell for cell in In if token in cell or api_key in cell]  # the silent calls are not in it\n"
         "jetnb.output(env=present, history=history, sha={'token': sha(token), "
         "'file': sha(jetnb.secret('FILE_TOKEN')), 'key': sha(api_key)})\n")
PAY = ["%load_ext jetnb",
       "%%workflow\nname: pay\nsecrets: [MY_SECRET_TOKEN, FILE_TOKEN]\n",
       ("params", "api_key: Secret = None  # the payment provider's key\norder: int = 1\n"),
       "%%step probe\n" + PROBE,
       "%%step charge\nraise RuntimeError(f'provider refused key {api_key} (token {token})')\n"]
GATED = ["%load_ext jetnb",
         "%%workflow\nname: gated\nsecrets: [MY_SECRET_TOKEN, FILE_TOKEN]\n",
         ("params", "api_key: Secret = None\n"),
         "%%step prepare\n" + PROBE + "headers = {'Authorization': f'Bearer {api_key}', 'X-Token': token}\n"
         "blob = ('k:' + api_key).encode()\nopen('prepared.txt', 'a').write('x')\n",
         "%%step pay --approve bob --message 'Pay with {api_key}?'\nprint('paying with', headers, blob)\n"
         "jetnb.output(after={'auth': sha(headers['Authorization']), 'blob': sha(blob.decode())})\n"]


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture
def env(cli, user, tmp_path_factory) -> dict[str, str]:
    """The environment of every command: an env secret, the server token, bob's personal token (the CLI acts as
    bob), and a secrets file outside the project."""
    secrets_file = tmp_path_factory.mktemp("vault") / "secrets.json"
    values = {"MY_SECRET_TOKEN": ENV_SECRET, "JETNB_TOKEN": CLI_TOKEN, "JETNB_SECRETS_FILE": str(secrets_file),
              **user("bob")}
    assert cli("secrets", "set", "FILE_TOKEN", env=values, input=FILE_SECRET).returncode == 0
    return values


def raw(env: dict[str, str]) -> list[str]:
    """Every secret value of a test: the constants and the personal token the `env` fixture made."""
    return [*RAW, env["JETNB_USER_TOKEN"]]


def leaks(project: Path, env: dict[str, str]) -> dict[str, list[str]]:
    """Every file under the project folder that holds a raw value: none may."""
    found: dict[str, list[str]] = {}
    for path in project.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            hits = [value for value in raw(env) if value.encode() in data]
            if hits:
                found[str(path.relative_to(project))] = hits
    return found


def assert_masked(text: str, env: dict[str, str]) -> None:
    assert not [value for value in raw(env) if value in text], text


def test_the_scenario_leaves_no_value_anywhere(cli, make_nb, project, env):
    make_nb("pay.ipynb", PAY)
    ran = cli("run", "pay.ipynb", "-p", "api_key", API_KEY, "-p", "order", "7", env=env)
    assert ran.returncode == 1, ran.stderr
    assert_masked(ran.stdout + ran.stderr, env)
    assert "RuntimeError: provider refused key *** (token ***)" in ran.stderr
    run_id = ran.stdout.split()[1]

    record = run_json(cli("show", run_id, "--json", env=env))
    assert record["params"] == {"api_key": "***", "order": 7}
    assert record["outputs"] == {"env": [], "history": [], "sha": {  # the kernel had the real values, apart
        "token": sha(ENV_SECRET), "file": sha(FILE_SECRET), "key": sha(API_KEY)}}
    assert record["error"]["message"] == "provider refused key *** (token ***)"
    for shown in (cli("show", run_id, env=env), cli("runs", "--json", env=env), cli("show", run_id, "--json")):
        assert_masked(shown.stdout + shown.stderr, env)
    assert '"api_key": "***"' in cli("runs", "--json", env=env).stdout

    log = json.loads(Path(record["log_path"]).read_text())
    assert log["metadata"]["papermill"]["parameters"] == {"order": 7}  # a Secret is never papermill's
    injected = [c for c in log["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
    assert ["".join(c["source"]) for c in injected] == ["# Parameters\norder = 7\n"]
    printed = "".join(o.get("text", "") if isinstance(o.get("text"), str) else "".join(o.get("text", []))
                      for c in log["cells"] for o in c.get("outputs", []))
    assert "calling with token=***; file=*** key=***!" in printed
    assert leaks(project, env) == {}


def test_a_gated_run_resumes_only_with_its_secret_parameter_given_again(cli, make_nb, project, env):
    make_nb("gated.ipynb", GATED)
    ran = cli("run", "gated.ipynb", "-p", "api_key", API_KEY, env=env)
    assert ran.returncode == 0 and "waiting for approval 1 (pay) from bob: Pay with ***?" in ran.stdout, ran.stderr
    run_id = ran.stdout.split()[1]
    journal = project / "runs" / "gated" / f"{run_id}.journal" / "prepare.pkl"
    assert journal.is_file() and leaks(project, env) == {}  # the journal holds headers and blob, sealed

    approvals = run_json(cli("approvals", "--json", env=env))
    assert approvals[0]["message"] == "Pay with ***?" and approvals[0]["details"]["params"] == {"api_key": "***"}
    assert cli("approve", "1", "--as", "bob", env=env).returncode == 0
    refused = cli("resume", run_id, env=env)
    assert refused.returncode == 2
    assert (f"run {run_id}: the value of Secret parameter 'api_key' was not kept (jetnb never writes a secret's "
            f"value); give it again: jetnb resume {run_id} -p api_key VALUE") in refused.stderr

    resumed = cli("resume", run_id, "-p", "api_key", API_KEY, "--json", env=env)
    assert resumed.returncode == 0, resumed.stderr
    record = json.loads(resumed.stdout)
    assert record["status"] == "succeeded"
    assert record["outputs"]["after"] == {"auth": sha(f"Bearer {API_KEY}"), "blob": sha(f"k:{API_KEY}")}
    assert (project / "prepared.txt").read_text() == "x"  # prepare was restored from the journal, not run again
    assert leaks(project, env) == {}


def test_a_rerun_needs_its_secret_parameters_again(cli, make_nb, project, env):
    make_nb("gated.ipynb", GATED)
    first = cli("run", "gated.ipynb", "-p", "api_key", API_KEY, "-q", env=env).stdout.split()[1]
    refused = cli("rerun", first, env=env)
    assert refused.returncode == 2 and "parameter 'api_key': *** stands for a Secret value jetnb never keeps; " \
                                       "give the value itself again" in refused.stderr
    again = cli("rerun", first, "-p", "api_key", API_KEY, "--json", env=env)
    assert run_json(again)["status"] == "waiting" and run_json(again)["rerun_of"] == first
    assert leaks(project, env) == {}


def test_secrets_that_cannot_be_had_are_clear_errors(cli, make_nb, project, env):
    make_nb("short.ipynb", ["%load_ext jetnb", ("params", "api_key: Secret = None\n"), "%%step a\npass\n"])
    short = cli("run", "short.ipynb", "-p", "api_key", "abc", env=env)
    assert short.returncode == 2 and "parameter 'api_key' is 3 characters long" in short.stderr
    assert run_json(cli("runs", "--json")) == []  # nothing recorded

    make_nb("lookup.ipynb", ["%load_ext jetnb", "%%workflow\nname: lookup\nsecrets: [MY_SECRET_TOKEN, NOT_SET]\n",
                             "%%step undeclared --continue-on-error\nimport jetnb\njetnb.secret('STRIPE' + '_KEY')\n",
                             "%%step unset\njetnb.secret('NOT_SET')\n"])
    record = run_json(cli("run", "lookup.ipynb", "--json", env=env))
    steps = {s["name"]: s["error"]["message"] for s in record["steps"]}
    assert steps["undeclared"] == "secret 'STRIPE_KEY' is not declared: add it to `secrets:` in the %%workflow cell"
    assert steps["unset"].startswith("secret 'NOT_SET' has no value: set the environment variable NOT_SET for "
                                     "jetnb run / jetnb serve")
    assert "jetnb secrets set NOT_SET" in steps["unset"]

    too_short = run_json(cli("run", "lookup.ipynb", "--json", env={**env, "NOT_SET": "abc"}))
    assert too_short["status"] == "failed" and too_short["error"]["message"] == (
        "its secrets are not available: secret NOT_SET (from the environment) is 3 characters long; jetnb needs "
        "secrets of at least 6 characters to mask them safely")


@pytest.mark.parametrize("backend", ["local", "pool", "forked"])  # local: jetnb run's head start
def test_kernels_started_ahead_of_the_run_have_no_withheld_variable(cli, make_nb, project, env, backend):
    initial = ("first = open('/proc/self/environ', 'rb').read().split(b'\\0')  # what the process started with\n"
               f"jetnb.output(initial=sorted(n for n in {WITHHELD!r} if any(v.startswith(n.encode() + b'=') "
               "for v in first)))\n")
    make_nb("pay.ipynb", [*PAY[:3], PAY[3] + initial])
    record = run_json(cli("run", "pay.ipynb", "-p", "api_key", API_KEY, "--backend", backend, "--json", env=env))
    assert record["status"] == "succeeded", record["error"]
    assert record["outputs"]["env"] == [] and record["outputs"]["sha"]["key"] == sha(API_KEY)
    assert record["outputs"]["initial"] == []
    assert leaks(project, env) == {}


def test_a_person_running_the_notebook_reads_the_same_sources(cli, make_nb, project, monkeypatch):
    """Cell by cell in a plain kernel (no jetnb runner), as in JupyterLab: the environment, then the secrets file."""
    import nbformat
    from nbclient import NotebookClient

    assert cli("secrets", "set", "FILE_TOKEN", FILE_SECRET).returncode == 0  # the project's .jetnb/secrets.json
    monkeypatch.setenv("MY_SECRET_TOKEN", ENV_SECRET)
    path = make_nb("by_hand.ipynb", [
        "%load_ext jetnb", "%%workflow\nname: by-hand\nsecrets: [MY_SECRET_TOKEN, FILE_TOKEN]\n",
        ("params", "api_key: Secret = None\n"),
        "import hashlib, jetnb\nsha = lambda text: hashlib.sha256(text.encode()).hexdigest()\n"
        "print(sha(jetnb.secret('MY_SECRET_TOKEN')), sha(jetnb.secret('FILE_TOKEN')), api_key)",
        "try:\n    jetnb.secret('STRIPE_KEY')\nexcept LookupError as exc:\n    print(exc)"])
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, kernel_name="python3", resources={"metadata": {"path": str(project)}}).execute()
    printed = ["".join(o["text"] for o in cell.outputs if o.get("name") == "stdout") for cell in nb.cells[3:]]
    assert printed == [f"{sha(ENV_SECRET)} {sha(FILE_SECRET)} None\n",
                       "secret 'STRIPE_KEY' is not declared: add it to `secrets:` in the %%workflow cell "
                       "(and run that cell)\n"]


def test_a_kernel_started_before_its_secrets_were_known_removes_them_at_bootstrap(make_nb, project, monkeypatch):
    """In one process: the pool fills while running a workflow that declares nothing; the next run declares
    MY_SECRET_TOKEN and takes a kernel that inherited it, which removes it from ``os.environ`` at bootstrap."""
    from jetnb import run
    from jetnb.executor import close_backends

    monkeypatch.setenv("MY_SECRET_TOKEN", ENV_SECRET)
    plain = make_nb("plain.ipynb", ["%load_ext jetnb", "%%step a\npass\n"])
    declared = make_nb("declared.ipynb", [
        "%load_ext jetnb", "%%workflow\nname: declared\nsecrets: [MY_SECRET_TOKEN]\n",
        "%%step a\nimport hashlib, os, jetnb\njetnb.output(env='MY_SECRET_TOKEN' in os.environ, "
        "sha=hashlib.sha256(jetnb.secret('MY_SECRET_TOKEN').encode()).hexdigest())\n"])
    try:
        assert run(plain, store=project / "jetnb.db", backend="pool")["status"] == "succeeded"
        record = run(declared, store=project / "jetnb.db", backend="pool")
    finally:
        close_backends()
    assert record["status"] == "succeeded", record["error"]
    assert record["outputs"] == {"env": False, "sha": sha(ENV_SECRET)}
