"""The jetnb sidebar in a real JupyterLab, clicked in a real Chromium, against the real server extension.

One JupyterLab and one page serve the module; the tests run in order and
build on each other's runs (the Lab's store is ``.jetnb/jetnb.db`` under its
root). Screenshots go to ``$JETNB_SCREENSHOTS`` (``docs/screenshots`` when
refreshing the docs), else to the test's temporary folder. The first two tests
need no browser: the committed build matches its sources, and the extension is
installed and enabled in this environment (as ``pip install -e`` left it).
"""

from __future__ import annotations

import json
import os
import runpy
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from browser import Lab, chromium, jupyterlab, lab_log
from conftest import REPO, notebook
from playwright.sync_api import expect

WAIT_MS = 90_000
slow = pytest.mark.slow

SHIP_ORDER = [
    "%load_ext jetnb",
    "%%workflow\nname: ship-order\ndescription: Ships an order and says where it goes.",
    ("params", ("from typing import Optional\n"
                "order_id: int = 1001  # the order to ship\n"
                "weight: float = 1.5  # in kg\n"
                "express: bool = False  # next-day delivery\n"
                'note: str = "leave at the door"  # for the courier\n'
                'items: list = ["book"]  # what goes in the box\n'
                "insured_up_to: Optional[int] = None  # euros; empty for none")),
    "%%result\n{'order_id': order_id, 'items': items, 'express': express, 'insured_up_to': insured_up_to}",
]
NIGHTLY = [
    "%load_ext jetnb",
    ('%%workflow\nname: nightly-report\ndescription: Sums up the day. <img src=x onerror=window.jetnbPwned=1>\n'
     'triggers:\n  - schedule: {cron: "0 3 * * *"}'),
    "%%step report\nprint('report')",
]
BROKEN = ["%load_ext jetnb", "%%workflow\nname: broken-flow\nconcurency: 2", "x = 1"]
FLAKY = [
    "%load_ext jetnb",
    "%%workflow\nname: flaky\ndescription: Fails while fail.flag exists next to it.",
    "%%step check\nimport os\nif os.path.exists('fail.flag'):\n    raise RuntimeError('fail.flag is present')",
    "%%result\n{'checked': True}",
]
SCRATCH = [  # a plain notebook: no %%workflow, only a parameters cell
    ("params", "who: str = 'nobody'  # who to thank"),
    "print(f'thanks, {who}')",
]


def gated(name: str, user: str, step: str, message: str, *, self_approval: bool) -> list[Any]:
    """A workflow whose step waits for ``user`` (the Jupyter user, quoted: it may look like a number to YAML)."""
    return [
        "%load_ext jetnb",
        (f"%%workflow\nname: {name}\nallow_self_approval: {str(self_approval).lower()}\n"
         f'approvers:\n  shippers: ["{user}"]'),
        ("params", "parcel: str = 'P-17'  # what to ship"),
        f'%%step {step} --approve shippers --message "{message}"\nsent = parcel',
        "%%result\n{'sent': sent}",
    ]


# -- the build and the install, no browser --------------------------------------------------------------------


def test_committed_labextension_is_built_from_the_current_sources():
    hashing = runpy.run_path(str(REPO / "labextension" / "source_hash.py"))
    recorded = Path(hashing["RECORDED"]).read_text(encoding="utf-8").strip()
    assert recorded == hashing["source_hash"](), (
        "labextension/ changed since jetnb/labextension/ was built: run labextension/build.sh and commit its output")
    built = json.loads((REPO / "jetnb" / "labextension" / "package.json").read_text(encoding="utf-8"))
    assert (REPO / "jetnb" / "labextension" / built["jupyterlab"]["_build"]["load"]).is_file()


def test_extension_is_installed_and_enabled():
    def listing(*args: str) -> str:
        done = subprocess.run([sys.executable, "-m", "jupyter", *args], capture_output=True, text=True, timeout=120,
                              check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout + done.stderr

    lab = [line for line in listing("labextension", "list").splitlines() if line.strip().startswith("jetnb ")]
    assert lab and "enabled" in lab[0] and "OK" in lab[0], lab
    server = listing("server", "extension", "list").splitlines()
    assert any("jetnb.jupyter" in line and "enabled" in line for line in server), server


# -- the sidebar ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("JETNB_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("sidebar-root")
    (folder / "flows").mkdir()
    notebook(SHIP_ORDER, folder / "flows" / "ship_order.ipynb")
    notebook(NIGHTLY, folder / "flows" / "nightly.ipynb")
    notebook(BROKEN, folder / "flows" / "broken.ipynb")
    notebook(FLAKY, folder / "flows" / "flaky.ipynb")
    notebook(SCRATCH, folder / "scratch.ipynb")
    return folder


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sidebar-home")


@pytest.fixture(scope="module")
def lab(root: Path, home: Path) -> Iterator[Lab]:
    with jupyterlab(root, home) as lab:
        yield lab


@pytest.fixture(scope="module")
def page(lab: Lab, home: Path) -> Iterator[Any]:
    """JupyterLab with the jetnb sidebar open and widened."""
    with chromium(home) as browser:
        page = browser.new_page()
        page.set_viewport_size({"width": 1100, "height": 1000})
        try:
            page.goto(f"{lab.url}/lab?reset&token={lab.token}", timeout=WAIT_MS)
            page.locator("[data-jetnb=sidebar]").wait_for(state="attached", timeout=WAIT_MS)
            page.evaluate("window.jupyterapp.commands.execute('jetnb:open-sidebar')")
            page.locator("[data-jetnb=workflow]").first.wait_for(timeout=WAIT_MS)
            handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first.bounding_box()
            page.mouse.move(handle["x"] + 1, handle["y"] + 200)
            page.mouse.down()
            page.mouse.move(handle["x"] + 160, handle["y"] + 200, steps=5)
            page.mouse.up()
            yield page
        except Exception:
            page.screenshot(path=str(home / "failure.png"))
            raise RuntimeError(f"the browser test failed; screenshot {home / 'failure.png'}; "
                               f"server log:\n{lab_log(lab)}")
        finally:
            page.close()


def api(page: Any, path: str) -> Any:
    """GET an endpoint of the sidebar's API as the page (its cookie, so its user)."""
    return page.evaluate("""async (path) => {
        const settings = window.jupyterapp.serviceManager.serverSettings;
        const response = await fetch(settings.baseUrl + 'jetnb/lab/' + path, {credentials: 'same-origin'});
        return await response.json();
    }""", path)


def open_document(page: Any, path: str) -> None:
    page.evaluate("async (path) => { await window.jupyterapp.commands.execute('docmanager:open', {path}); }", path)
    page.wait_for_function("""(path) => {
        const widget = window.jupyterapp.shell.currentWidget;
        return widget && widget.context && widget.context.path === path && widget.context.isReady;
    }""", arg=path, timeout=WAIT_MS)


def workflow(page: Any, name: str) -> Any:
    return page.locator(f"[data-jetnb=workflow][data-name='{name}']")


def field(page: Any, name: str) -> Any:
    return page.locator(f"[data-jetnb=run-form] [data-jetnb=field][data-name='{name}']")


def open_form(page: Any, name: str) -> Any:
    workflow(page, name).locator("[data-jetnb=run-workflow]").click()
    form = page.locator("[data-jetnb=run-form]")
    form.locator("[data-jetnb=submit-run]").wait_for(timeout=WAIT_MS)
    return form


def screenshot(page: Any, path: Path, sizes: tuple[int, int, int]) -> None:
    """The sidebar with its sections (Workflows, Runs, Approvals) sized for the picture, then even again."""
    resize = """(sizes) => {
        const sidebar = [...window.jupyterapp.shell.widgets('left')].find(w => w.id === 'jetnb-sidebar');
        sidebar.content.setRelativeSizes(sizes);
    }"""
    page.set_viewport_size({"width": 1100, "height": 1300})
    page.evaluate(resize, list(sizes))
    try:
        time.sleep(0.3)  # the accordion's relayout
        page.evaluate("document.querySelectorAll('.jp-jetnb-section').forEach(s => { s.scrollTop = 0; })")
        page.locator("[data-jetnb=sidebar]").screenshot(path=str(path))
    finally:
        page.evaluate(resize, [1, 1, 1])
        page.set_viewport_size({"width": 1100, "height": 1000})


def selected_run(page: Any) -> Any:
    """The run the Runs panel shows expanded, once it is there."""
    run = page.locator("[data-jetnb=run].jp-mod-selected")
    run.locator("[data-jetnb=run-detail]").wait_for(timeout=WAIT_MS)
    return run


def wait_status(run: Any, status: str) -> None:
    expect(run).to_have_attribute("data-status", status, timeout=WAIT_MS)


@slow
def test_workflows_panel_lists_each_workflow_with_triggers_and_problems(page, shots):
    expect(page.locator("[data-jetnb=workflow]")).to_have_count(4, timeout=WAIT_MS)  # not the plain notebook
    nightly = workflow(page, "nightly-report")
    expect(nightly.locator("[data-jetnb=trigger]")).to_contain_text("schedule: 0 3 * * * (UTC)")
    expect(nightly.locator("[data-jetnb=next-fire]")).to_contain_text("next")
    expect(nightly.locator(".jp-jetnb-description")).to_contain_text("<img src=x onerror=")  # text, not markup
    assert nightly.locator("img").count() == 0 and page.evaluate("window.jetnbPwned === undefined")
    broken = workflow(page, "broken-flow")
    expect(broken.locator("[data-jetnb=problems]")).to_contain_text("concurency: unknown key")
    expect(broken.locator("[data-jetnb=run-workflow]")).to_be_disabled()
    expect(page.locator("[data-jetnb=server-status]")).to_have_attribute("data-running", "false", timeout=WAIT_MS)
    screenshot(page, shots / "sidebar_workflows.png", (5, 1, 1))


@slow
def test_run_form_shows_bad_values_next_to_their_fields_then_runs(page, root, shots):
    form = open_form(page, "ship-order")
    expect(field(page, "order_id").locator("input")).to_have_value("1001")  # the default, shown
    expect(field(page, "insured_up_to")).to_contain_text("euros; empty for none")  # the help, as a hint
    field(page, "order_id").locator("input").fill("1.5")
    field(page, "items").locator("textarea").fill("[book, pen")
    form.locator("[data-jetnb=submit-run]").click()
    expect(field(page, "order_id").locator("[data-jetnb=field-error]")).to_have_text(
        "expected int, got float 1.5", timeout=WAIT_MS)
    expect(field(page, "items").locator("[data-jetnb=field-error]")).to_contain_text("expected list")
    expect(form.locator("[data-jetnb=form-problems]")).to_contain_text("2 fields to correct below")
    screenshot(page, shots / "sidebar_run_form.png", (5, 1, 1))
    assert not (root / ".jetnb").exists() or not api(page, "runs")["runs"], "a refused run was recorded"

    field(page, "order_id").locator("input").fill("1002")
    field(page, "items").locator("textarea").fill('["book", "pen"]')
    field(page, "express").locator("input").check()
    form.locator("[data-jetnb=submit-run]").click()
    run = selected_run(page)  # the form closes and the new run is selected in the Runs panel
    wait_status(run, "succeeded")
    expect(run.locator("[data-jetnb=step]")).to_have_count(1)
    result = json.loads(run.locator("[data-jetnb=run-result]").inner_text())
    assert result == {"order_id": 1002, "items": ["book", "pen"], "express": True, "insured_up_to": None}
    screenshot(page, shots / "sidebar_runs.png", (1, 5, 1))


@slow
def test_open_run_log_shows_a_read_only_notebook_without_a_kernel(page):
    run = selected_run(page)
    run_id = run.get_attribute("data-run-id")
    kernels_before = page.evaluate("async () => (await window.jupyterapp.serviceManager.kernels.refreshRunning(),"
                                   " [...window.jupyterapp.serviceManager.kernels.running()].length)")
    run.locator("[data-jetnb=open-log]").click()
    page.locator(".lm-TabBar-tab", has_text=run_id).wait_for(timeout=WAIT_MS)
    page.locator(".jp-NotebookPanel:visible [data-jetnb=run-log-label]").wait_for(timeout=WAIT_MS)
    shown = page.evaluate("""() => {
        const panel = window.jupyterapp.shell.currentWidget;
        const cells = panel.content.widgets;
        return {path: panel.context.path, writable: panel.context.contentsModel.writable,
                session: panel.sessionContext.session ? panel.sessionContext.session.id : null,
                cells: cells.length, editable: cells.filter(c => !c.readOnly).length,
                text: panel.content.node.innerText};
    }""")
    assert shown["path"] == f"jetnb-run-log:ship-order/{run_id}.ipynb"
    assert shown["writable"] is False and shown["session"] is None
    assert shown["cells"] >= 4 and shown["editable"] == 0
    assert "order_id = 1002" in shown["text"]  # papermill's injected parameters: this is the executed notebook
    save = page.locator(".jp-NotebookPanel:visible .jp-Toolbar [data-command='docmanager:save']")
    expect(save).to_have_attribute("aria-disabled", "true")  # Lab's own answer to writable: false
    kernels_after = page.evaluate("async () => (await window.jupyterapp.serviceManager.kernels.refreshRunning(),"
                                  " [...window.jupyterapp.serviceManager.kernels.running()].length)")
    assert kernels_after == kernels_before
    page.evaluate("window.jupyterapp.commands.execute('application:close')")


@slow
def test_rerun_starts_a_new_run_with_the_same_parameters(page):
    first = selected_run(page)
    first_id = first.get_attribute("data-run-id")
    first.locator("[data-jetnb=rerun-run]").click()
    expect(page.locator("[data-jetnb=run].jp-mod-selected")).not_to_have_attribute("data-run-id", first_id,
                                                                                    timeout=WAIT_MS)
    rerun = selected_run(page)
    wait_status(rerun, "succeeded")
    record = api(page, f"runs/{rerun.get_attribute('data-run-id')}")
    assert record["rerun_of"] == first_id and record["params"]["order_id"] == 1002


@slow
def test_runs_panel_filters_by_workflow_and_status(page):
    runs = page.locator("[data-jetnb=run]")
    page.locator("[data-jetnb=filter-workflow]").select_option("ship-order")
    expect(runs).to_have_count(2, timeout=WAIT_MS)  # the run and its rerun
    page.locator("[data-jetnb=filter-status]").select_option("failed")
    expect(page.locator("[data-jetnb=runs]")).to_contain_text("No runs match", timeout=WAIT_MS)
    page.locator("[data-jetnb=filter-status]").select_option("")
    page.locator("[data-jetnb=filter-workflow]").select_option("")
    expect(runs).to_have_count(2, timeout=WAIT_MS)


@slow
def test_resume_continues_a_failed_run_from_its_failing_step(page, root):
    flag = root / "flows" / "fail.flag"
    flag.write_text("until the test removes it", encoding="utf-8")
    open_form(page, "flaky").locator("[data-jetnb=submit-run]").click()
    run = selected_run(page)
    wait_status(run, "failed")
    expect(run.locator("[data-jetnb=step-error]")).to_have_text("RuntimeError: fail.flag is present")
    flag.unlink()
    run.locator("[data-jetnb=resume-run]").click()
    wait_status(run, "succeeded")
    assert api(page, f"runs/{run.get_attribute('data-run-id')}")["result"] == {"checked": True}


@slow
def test_run_as_workflow_saves_the_notebook_then_runs_it_from_the_form(page, root):
    open_document(page, "scratch.ipynb")
    page.evaluate("""() => {  // an unsaved edit: the run must see it
        const cell = window.jupyterapp.shell.currentWidget.content.model.sharedModel.getCell(0);
        cell.setSource("who: str = 'the saver'  # who to thank");
    }""")
    page.locator(".jp-NotebookPanel:visible [data-jetnb=run-as-workflow]").click()
    form = page.locator("[data-jetnb=run-form][data-target='scratch.ipynb']")
    expect(field(page, "who").locator("input")).to_have_value("the saver", timeout=WAIT_MS)
    assert "the saver" in (root / "scratch.ipynb").read_text(encoding="utf-8")
    form.locator("[data-jetnb=submit-run]").click()
    run = selected_run(page)
    wait_status(run, "succeeded")
    assert api(page, f"runs/{run.get_attribute('data-run-id')}")["params"] == {"who": "the saver"}


@slow
def test_approvals_panel_approves_a_waiting_run_as_the_jupyter_user(page, root, shots):
    # With a token, Jupyter names each browser session's user with a random id (kept in its login cookie):
    # the approvers are whoever this page is.
    user = api(page, "whoami")["user"]
    expect(page.locator("[data-jetnb=approvals-user]")).to_contain_text(user, timeout=WAIT_MS)
    notebook(gated("ship-parcel", user, "send", "Ship parcel {parcel}?", self_approval=True),
             root / "flows" / "ship_parcel.ipynb")
    workflow(page, "ship-parcel").wait_for(timeout=WAIT_MS)
    open_form(page, "ship-parcel").locator("[data-jetnb=submit-run]").click()
    run = selected_run(page)
    wait_status(run, "waiting")
    request = page.locator("[data-jetnb=approval]", has_text="Ship parcel P-17?")
    request.wait_for(timeout=WAIT_MS)
    expect(request.locator("[data-jetnb=approval-details]")).to_contain_text('"parcel": "P-17"')
    request.locator("[data-jetnb=approval-comment]").fill("go ahead")
    request.locator("[data-jetnb=approve]").click()
    expect(request.locator("[data-jetnb=decision]")).to_contain_text(f"approved by {user}", timeout=WAIT_MS)
    expect(request.locator("[data-jetnb=approve]")).to_have_count(0)
    wait_status(run, "succeeded")
    screenshot(page, shots / "sidebar_approvals.png", (1, 2, 4))


@slow
def test_a_refused_decision_shows_the_reason_on_the_request(page, root):
    user = api(page, "whoami")["user"]
    notebook(gated("ship-crate", user, "load", "Load crate {parcel}?", self_approval=False),
             root / "flows" / "ship_crate.ipynb")
    workflow(page, "ship-crate").wait_for(timeout=WAIT_MS)
    open_form(page, "ship-crate").locator("[data-jetnb=submit-run]").click()
    wait_status(selected_run(page), "waiting")
    request = page.locator("[data-jetnb=approval]", has_text="Load crate P-17?")
    request.locator("[data-jetnb=approve]").click()
    expect(request.locator("[data-jetnb=decision]")).to_contain_text("forbids approving one's own runs",
                                                                       timeout=WAIT_MS)
    expect(request.locator("[data-jetnb=approve]")).to_be_enabled()


@slow
def test_cancel_a_waiting_run(page):
    run_id = api(page, "runs?status=waiting")["runs"][0]["id"]
    run = page.locator(f"[data-jetnb=run][data-run-id='{run_id}']")
    if "jp-mod-selected" not in (run.get_attribute("class") or ""):
        run.locator(".jp-jetnb-clickable").click()  # a click selects it (a second one would close it)
    run.locator("[data-jetnb=cancel-run]").click()
    wait_status(run, "cancelled")
    expect(run.locator("[data-jetnb=cancel-run]")).to_have_count(0)
    record = api(page, f"runs/{run_id}")
    assert record["status"] == "cancelled" and record["finished_at"]


@slow
def test_start_server_runs_jetnb_serve_for_the_lab_store(page):
    status = page.locator("[data-jetnb=server-status]")
    status.locator("[data-jetnb=start-server]").click()
    pid = None
    try:
        expect(status).to_have_attribute("data-running", "true", timeout=WAIT_MS)
        state = api(page, "server")
        pid = state["pid"]
        assert state["running"] and state["url"].startswith("http://127.0.0.1:")
        assert state["store"] == ".jetnb/jetnb.db"
        expect(status).to_contain_text("jetnb serve is running")
    finally:
        pid = pid or api(page, "server").get("pid")
        if pid:
            os.kill(pid, signal.SIGTERM)
            expect(status).to_have_attribute("data-running", "false", timeout=WAIT_MS)  # and the Lab reaped it
            _wait_gone(pid)


def _wait_gone(pid: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
