"""The widgets and ``jetnb.show`` in a real JupyterLab, clicked in a real Chromium.

One JupyterLab and one page serve the whole module: a notebook that shows
each widget is opened and run once, then each test works with one output.
Screenshots go to ``$JETNB_SCREENSHOTS`` (``docs/screenshots`` when
refreshing the docs), else to the test's temporary folder.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote

import pytest
from playwright.sync_api import expect

from browser import chromium, jupyterlab, lab_log, open_notebook, run_all_cells
from conftest import REPO, notebook, run_cli, run_json
from jetnb.store import Store

pytestmark = pytest.mark.slow

HELLO = REPO / "notebooks" / "hello.ipynb"
REFUND = REPO / "notebooks" / "refund_order.ipynb"
WAIT_MS = 90_000

ORDER_CELLS = [
    "%load_ext jetnb",
    "%%workflow\nname: ship-order\ndescription: Ships an order and says where it goes.",
    ("params", 'from typing import Optional\n'
               'order_id: int = 1001  # the order to ship\n'
               'weight: float = 1.5  # in kg\n'
               'express: bool = False  # next-day delivery\n'
               'note: str = "leave at the door"  # for the courier\n'
               'items: list = ["book"]  # what goes in the box\n'
               'insured_up_to: Optional[int] = None  # euros; empty for none'),
    "%%result\n{'order_id': order_id, 'items': items, 'express': express}",
]

GATED_CELLS = [
    "%load_ext jetnb",
    "%%workflow\nname: ship-parcel\napprovers:\n  managers: [alice, bob]",
    ("params", "parcel: str = 'P-17'  # what to ship"),
    '%%step send --approve managers --message "Ship parcel {parcel}?"\nsent = parcel',
    "%%result\n{'sent': sent}",
]

# cell sources of the notebook the tests open; each shows one thing
SHOWCASE = {
    "setup": "import jetnb\nfrom jetnb.widgets import ApprovalFeed, RunButton, RunForm, RunHistory, TableTrigger\n"
             "STORE, RUNS = {store!r}, {runs!r}",
    "button": "RunButton({hello!r}, store=STORE, runs_dir=RUNS)",
    "form": "RunForm('ship_order.ipynb', store=STORE, runs_dir=RUNS)",
    "table": "TableTrigger([{{'name': 'Ada', 'times': 1}}, {{'name': 'Grace', 'times': 2}}], {hello!r},\n"
             "             confirm='Greet {{name}}?', store=STORE, runs_dir=RUNS)",
    "history": "RunHistory({hello!r}, store=STORE, runs_dir=RUNS)",
    "show": "jetnb.show({refund!r})",
    "feed": "ApprovalFeed('alice', store=STORE, runs_dir=RUNS)",
}
CELL = {name: index for index, name in enumerate(SHOWCASE)}


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = Path(os.environ.get("JETNB_SCREENSHOTS") or tmp_path_factory.mktemp("screenshots"))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder JupyterLab serves; its store is ``.jetnb/jetnb.db``."""
    return tmp_path_factory.mktemp("lab-root")


@pytest.fixture(scope="module")
def page(root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """JupyterLab with the showcase notebook open and run; the store has a run of hello and one waiting for alice."""
    import jetnb

    home = tmp_path_factory.mktemp("lab-home")
    store, runs = str(root / ".jetnb" / "jetnb.db"), str(root / "runs")
    jetnb.run(HELLO, {"name": "Grace"}, store=store, runs_dir=runs)
    notebook(ORDER_CELLS, root / "ship_order.ipynb")
    notebook(GATED_CELLS, root / "ship_parcel.ipynb")
    waiting = run_json(run_cli("run", "ship_parcel.ipynb", "--store", store, "--runs-dir", runs, "--json", cwd=root))
    assert waiting["status"] == "waiting"
    values = {"store": store, "runs": runs, "hello": str(HELLO), "refund": str(REFUND)}
    notebook([source.format(**values) for source in SHOWCASE.values()], root / "showcase.ipynb")
    with jupyterlab(root, home) as lab, chromium(home) as browser:
        page = browser.new_page()
        try:
            open_notebook(page, lab, "showcase.ipynb")
            run_all_cells(page)
            output(page, "show").locator(".jp-RenderedMermaid img").wait_for(timeout=WAIT_MS)
            yield page
        except Exception:
            page.screenshot(path=str(home / "failure.png"))
            raise RuntimeError(f"the browser test failed; screenshot {home / 'failure.png'}; "
                               f"server log:\n{lab_log(lab)}")
        finally:
            page.close()


def output(page: Any, cell: str) -> Any:
    return page.locator(".jp-Notebook .jp-Cell").nth(CELL[cell]).locator(".jp-Cell-outputWrapper")


def test_run_button_click_runs_hello_and_shows_its_result(page, shots):
    area = output(page, "button")
    area.get_by_role("button", name="Run hello").click()
    area.get_by_text("succeeded in").wait_for(timeout=WAIT_MS)
    area.get_by_text("Hello, World!").wait_for(timeout=WAIT_MS)
    expect(area.get_by_role("button", name="Run hello")).to_be_enabled(timeout=WAIT_MS)
    area.screenshot(path=str(shots / "run_button.png"))
    log = area.get_by_role("link", name="runs/hello/")
    run_log = log.inner_text().rsplit("/", 1)[-1]
    log.click()  # JupyterLab opens the run log in a tab of its own
    page.locator(".lm-TabBar-tab", has_text=run_log).wait_for(timeout=WAIT_MS)
    page.locator(".lm-TabBar-tab", has_text="showcase.ipynb").click()


def test_run_form_shows_a_bad_value_next_to_its_field(page, shots):
    area = output(page, "form")
    items = area.locator(".widget-textarea textarea")
    items.fill("[book, pen")
    area.locator(".widget-text input").last.fill("lots")
    area.get_by_role("button", name="Run ship-order").click()
    area.get_by_text("✗ expected list (JSON or YAML)").wait_for(timeout=WAIT_MS)
    area.get_by_text("✗ expected int, got 'lots'").wait_for(timeout=WAIT_MS)
    area.get_by_text("2 fields to correct above").wait_for(timeout=WAIT_MS)
    area.screenshot(path=str(shots / "run_form_error.png"))
    items.fill('["book", "pen"]')
    area.locator(".widget-text input").last.fill("")
    area.get_by_role("button", name="Run ship-order").click()
    area.get_by_text("succeeded in").wait_for(timeout=WAIT_MS)
    result = json.loads(area.locator("pre").last.inner_text())
    assert result == {"order_id": 1001, "items": ["book", "pen"], "express": False}


def test_table_trigger_asks_then_runs_the_row(page, shots):
    area = output(page, "table")
    area.get_by_role("button", name="Run").nth(1).click()
    area.get_by_text("Greet Grace?").wait_for(timeout=WAIT_MS)
    area.locator(".widget-hbox").get_by_role("button", name="Run").click()
    area.get_by_text("Hello, Grace! Hello, Grace!").wait_for(timeout=WAIT_MS)
    area.screenshot(path=str(shots / "table_trigger.png"))


def test_run_history_lists_runs_and_shows_the_selected_one(page, shots):
    area = output(page, "history")
    area.get_by_role("button", name="Refresh").click()
    options = area.locator("select option")
    options.last.wait_for(timeout=WAIT_MS)
    oldest = options.last.inner_text()
    assert "manual" in oldest
    area.locator("select").select_option(label=oldest)
    area.get_by_text("Hello, Grace!").first.wait_for(timeout=WAIT_MS)
    area.get_by_text("✓ greet").wait_for(timeout=WAIT_MS)
    area.screenshot(path=str(shots / "run_history.png"))


def test_show_draws_the_workflow_graph(page, shots):
    area = output(page, "show")
    assert area.get_by_text("refund-order").first.is_visible()
    graph = area.locator(".jp-RenderedMermaid img")  # JupyterLab draws Mermaid as an SVG image
    assert "issue_coupon" in unquote(graph.get_attribute("src"))
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": 2200})  # the whole graph in one picture
    try:
        area.screenshot(path=str(shots / "show.png"))
    finally:
        page.set_viewport_size(size)


def test_approval_feed_approve_click_resumes_the_waiting_run(page, root, shots):
    area = output(page, "feed")
    area.get_by_text("1 request waiting for alice").wait_for(timeout=WAIT_MS)
    area.get_by_text("Ship parcel P-17?").wait_for(timeout=WAIT_MS)
    area.get_by_placeholder("comment (optional)").fill("go ahead")
    area.get_by_role("button", name="Approve").click()
    area.get_by_text("approved by alice").wait_for(timeout=WAIT_MS)
    area.get_by_text("succeeded in").wait_for(timeout=WAIT_MS)
    expect(area.get_by_role("button", name="Approve")).to_be_disabled()
    area.screenshot(path=str(shots / "approval_feed.png"))
    store = Store(root / ".jetnb" / "jetnb.db")
    try:
        [run] = store.list_runs(workflow="ship-parcel")
        assert run["status"] == "succeeded" and run["result"] == {"sent": "P-17"}
        [approval] = store.list_approvals(pending_only=False)
        assert (approval["decided_by"], approval["comment"]) == ("alice", "go ahead")
    finally:
        store.close()
