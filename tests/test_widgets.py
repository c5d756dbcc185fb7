"""RunButton, RunHistory, the LocalClient and ``jetnb.show``, kernel-less but with real runs in real kernels.

Clicks are ``button.click()``; each run executes in a background thread
against a temporary store, and the tests wait for it (bounded) through the
widget itself.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable


from conftest import REPO
from jetnb.store import Store
from jetnb.widgets import LocalClient, RunButton, RunHistory

HELLO = REPO / "notebooks" / "hello.ipynb"
REFUND = REPO / "notebooks" / "refund_order.ipynb"
TIMEOUT = 90

# a workflow that holds its second step until the test creates the file named by `gate`
GATED = [
    "%load_ext jetnb",
    "%%workflow\nname: gated\nconcurrency: 1",
    ("params", "gate: str = 'gate'  # the file that lets step `hold` finish"),
    "%%step first\npass",
    "%%step hold\nimport os, time\ndeadline = time.time() + 60\n"
    "while not os.path.exists(gate) and time.time() < deadline:\n    time.sleep(0.05)",
    "%%result\n'released'",
]


def wait_for(condition: Callable[[], object], what: str, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_run_button_runs_and_shows_result_duration_and_run_log(project):
    button = RunButton(HELLO, {"name": "Ada"})
    assert button.button.description == "Run hello"
    button.button.click()
    run = button.status.wait(TIMEOUT)
    assert run["status"] == "succeeded" and run["result"] == {"greeting": "Hello, Ada!"}
    shown = button.status.markdown
    assert shown.startswith("**✓ succeeded in ") and f"run `{run['id']}`" in shown
    assert '"greeting": "Hello, Ada!"' in shown
    assert f"run log: [runs/hello/{run['id']}.ipynb](runs/hello/{run['id']}.ipynb)" in shown
    assert button.status.outputs[0]["data"]["text/markdown"] == shown
    assert not button.button.disabled
    stored = Store(project / ".jetnb" / "jetnb.db").get_run(run["id"])
    assert stored["trigger"] == "widget" and stored["trigger_detail"] == {"widget": "RunButton"}
    assert (project / "runs" / "hello" / f"{run['id']}.ipynb").exists()


def test_run_button_shows_progress_and_refuses_a_second_click_while_running(make_nb, project):
    gated = make_nb("gated.ipynb", GATED)
    button = RunButton(gated, {"gate": str(project / "open")}, label="Go", store=project / "s.db",
                       runs_dir=project / "logs")
    assert button.start() is not None
    wait_for(lambda: "running step 2 of 3 (hold)" in button.status.markdown, "the run to reach step hold")
    assert button.button.disabled
    assert button.start() is None
    (project / "open").touch()
    run = button.status.wait(TIMEOUT)
    assert run["status"] == "succeeded" and run["result"] == "released"
    assert not button.button.disabled
    assert len(Store(project / "s.db").list_runs()) == 1


def test_run_button_shows_a_failed_run_with_its_error(make_nb):
    failing = make_nb("failing.ipynb", ["%load_ext jetnb", '%%step boom\nraise ValueError("no stock")'])
    button = RunButton(failing)
    button.button.click()
    run = button.status.wait(TIMEOUT)
    assert run["status"] == "failed"
    assert "**✗ failed in " in button.status.markdown
    assert "error in step boom (cell 2): ValueError: no stock" in button.status.markdown
    assert 'raise ValueError("no stock")' in button.status.markdown


def test_run_button_with_bad_parameters_starts_nothing(project):
    button = RunButton(HELLO, {"times": "many", "nme": "Ada"})
    assert button.start() is None
    assert "**✗ not started**" in button.status.markdown
    assert "- parameter 'times': expected int, got 'many'" in button.status.markdown
    assert "unknown parameter 'nme' (did you mean 'name'?)" in button.status.markdown
    assert not button.button.disabled
    assert not (project / "runs").exists()
    assert Store(project / ".jetnb" / "jetnb.db").list_runs() == []


def test_store_follows_jetnb_store_like_the_cli(project, monkeypatch):
    monkeypatch.setenv("JETNB_STORE", str(project / "env.db"))
    button = RunButton(HELLO)
    button.start()
    assert button.status.wait(TIMEOUT)["status"] == "succeeded"
    assert len(Store(project / "env.db").list_runs()) == 1
    assert not (project / ".jetnb").exists()


def test_local_client_queues_runs_beyond_the_workflow_concurrency(make_nb, project):
    gated = make_nb("gated.ipynb", GATED)
    client = LocalClient()
    params = {"gate": str(project / "open")}
    first, second = client.start_run(gated, params), client.start_run(gated, params)

    def statuses() -> list[str]:
        return sorted(client.get_run(run_id)["status"] for run_id in (first, second))

    wait_for(lambda: "running" in statuses(), "one run to start")
    assert statuses() == ["queued", "running"]
    (project / "open").touch()
    wait_for(lambda: statuses() == ["succeeded", "succeeded"], "both runs to finish")
    assert [r["id"] for r in client.list_runs("gated")] == [second, first]


def test_run_history_lists_selects_and_refreshes(project):
    client = LocalClient()
    history = RunHistory(HELLO, limit=5, client=client)
    assert history.list.options == () and "no runs of hello yet" in history.details.markdown
    first = client.start_run(HELLO, {"name": "Lin"}, trigger_detail={"widget": "test"})
    wait_for(lambda: client.get_run(first)["status"] == "succeeded", "the first run")
    history.refresh()
    assert history.list.value == first
    label = history.list.options[0][0]
    assert label.startswith("✓ succeeded") and " widget " in label and label.endswith(first)
    details = history.details.markdown
    assert "trigger `widget`" in details and 'params `{"name": "Lin"}`' in details
    assert "✓ greet  succeeded" in details and "✓ result succeeded" in details
    assert '"greeting": "Hello, Lin!"' in details and f"runs/hello/{first}.ipynb" in details

    button = RunButton(HELLO, {"name": "Bo"}, client=client)
    second = button.start()
    history.refresh()
    assert history.list.value == first, "refresh keeps the selection"
    history.select(second)
    assert history.details.wait(TIMEOUT)["status"] == "succeeded"
    assert '"greeting": "Hello, Bo!"' in history.details.markdown
    history.refresh()
    assert [value for _, value in history.list.options] == [second, first]


def test_show_gives_name_description_parameters_and_mermaid_graph():
    from jetnb.widgets.show import overview
    from jetnb.model.workflow import Workflow

    text = overview(Workflow.load(REFUND))
    assert text.startswith("### refund-order\n\nRefund an order with a coupon or a return")
    assert "| `order_id` | int | `1001` | the order to refund |" in text
    assert "| `reason` | str | `\"wrong item\"` | why the customer wants a refund |" in text
    assert "```mermaid\nflowchart TD\n" in text and 'g8{"reason == \'wrong item\'"}' in text
    assert text.rstrip().endswith("```")


def test_show_lists_problems_of_a_broken_workflow(make_nb):
    from jetnb.widgets.show import overview
    from jetnb.model.workflow import Workflow

    broken = make_nb("broken.ipynb", ["%load_ext jetnb", "%%step a --retry 3\npass"])
    text = overview(Workflow.load(broken))
    assert "no parameters" in text
    assert "cell 2: %%step a: unknown option --retry" in text


def test_show_displays_markdown_in_ipython():
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    import jetnb

    InteractiveShell.instance()
    with capture_output() as captured:
        jetnb.show(str(HELLO))
    markdown = captured.outputs[0].data["text/markdown"]
    assert markdown.startswith("### hello") and "```mermaid" in markdown


def test_import_jetnb_stays_light():
    code = "import sys, jetnb; print(json.dumps(sorted(m for m in ('ipywidgets', 'papermill', 'IPython') if m in sys.modules)))"
    result = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True,
                            timeout=60, cwd=Path(REPO))
    assert json.loads(result.stdout) == []


def test_a_store_that_cannot_be_opened_is_reported_and_the_button_stays_usable(project):
    (project / "not-a-folder").write_text("a file")
    button = RunButton(HELLO, store=project / "not-a-folder" / "jetnb.db")
    assert button.start() is None
    assert "**✗ not started**: StoreError: the store" in button.status.markdown
    assert "cannot be opened" in button.status.markdown
    assert not button.button.disabled


def test_a_run_waiting_for_approval_frees_the_button_and_is_followed_to_its_end(make_nb, project, cli, user):
    gated = make_nb("approval.ipynb", ["%load_ext jetnb", "%%workflow\nname: needs-ok",
                                       '%%step ask --approve alice --message "ship it?"\nshipped = True',
                                       "%%result\nshipped"])
    button = RunButton(gated)
    run_id = button.start()
    run = button.status.wait(TIMEOUT)
    assert run["status"] == "waiting" and not button.button.disabled
    shown = button.status.markdown
    assert "**… waiting at step 1 of 2 (ask): waiting for approval by alice**" in shown
    assert f"then `jetnb resume {run_id}`" in shown
    approval = json.loads(cli("approvals", "--json").stdout)[0]
    decided = cli("approve", str(approval["id"]), "--resume", env=user("alice"))
    assert decided.returncode == 0, decided.stderr
    wait_for(lambda: button.status.run["status"] == "succeeded", "the resumed run to show up in the widget")
    assert "**✓ succeeded in " in button.status.markdown and "result:" in button.status.markdown
