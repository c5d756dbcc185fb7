"""The web pages of a real ``jetnb serve`` in Debian's Chromium: run from the form, read the run and its log,
decide an approval, and outputs that try to run scripts.

Screenshots go to ``$JETNB_SCREENSHOTS`` (``docs/screenshots`` when retaking them) or a temporary folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from browser import chromium
from servekit import TOKEN, wait_for

pytestmark = pytest.mark.slow

HELLO = ["%load_ext jetnb", "%%workflow\nname: hello\ndescription: Greets someone.",
         ("params", 'name: str = "World"  # who to greet\ntimes: int = 1  # how many greetings'),
         '%%step greet\ngreeting = " ".join([f"Hello, {name}!"] * times)\nprint(greeting)',
         '%%result\n{"greeting": greeting}']
GATED = ["%load_ext jetnb", "%%workflow\nname: gated\napprovers:\n  managers: [alice, bob]",
         ("params", "amount: float = 99.5"),
         '%%step pay --approve managers --message "Pay {amount}?"\npaid = amount',
         '%%result\n{"paid": paid}']
XSS = ["%load_ext jetnb",
       "%%step show\nfrom IPython.display import HTML, Javascript, display\n"
       "display(HTML('<b>bold</b><script>window.parent.pwned = 1</script>'"
       "'<img src=x onerror=\"window.parent.pwned = 2\">'))\n"
       "display(Javascript('window.parent.pwned = 3'))",
       '%%result\n{"note": "<script>window.pwned = 4</script>"}']


def shots(tmp_path: Path) -> Path:
    folder = Path(os.environ.get("JETNB_SCREENSHOTS") or tmp_path / "shots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_run_from_the_form_open_the_log_and_decide_an_approval(server, tmp_path, user):
    alice = user("alice")["JETNB_USER_TOKEN"]
    srv = server()
    for name, cells in (("hello", HELLO), ("gated", GATED), ("xss", XSS)):
        srv.workflow(name, cells)
    srv.start()
    folder = shots(tmp_path)
    with chromium(tmp_path) as browser:
        page = browser.new_page()
        page.goto(f"{srv.url}/ui/workflows?token={TOKEN}")
        page.screenshot(path=str(folder / "web_workflows.png"), full_page=True)
        page.click("text=hello")
        page.fill("#p-name", "Web")
        page.fill("#p-times", "two")
        page.click("#run-button")
        assert page.inner_text(".field-error") == "expected int, got 'two'"
        page.fill("#p-times", "2")
        page.screenshot(path=str(folder / "web_workflow.png"), full_page=True)
        page.click("#run-button")
        page.locator("#run-status", has_text="succeeded").wait_for(timeout=90_000)  # the page refreshes itself
        assert '"greeting": "Hello, Web! Hello, Web!"' in page.inner_text("#result")
        frame = page.frame_locator("iframe.notebook")
        frame.locator("text=Hello, Web! Hello, Web!").first.wait_for(timeout=30_000)
        page.screenshot(path=str(folder / "web_run.png"), full_page=True)

        page.goto(f"{srv.url}/ui/runs?workflow=hello")
        assert page.locator("#runs tr").count() == 2  # the header and one run

        started = srv.api("POST", "/api/workflows/gated/runs", json={"params": {"amount": 12}}).json()["run_id"]
        wait_for(lambda: srv.run(started)["status"] == "waiting", "the gated run to wait")
        page.goto(f"{srv.url}/ui/approvals")
        page.screenshot(path=str(folder / "web_approvals.png"), full_page=True)
        card = page.locator(".approval").first
        assert "Pay 12.0?" in card.inner_text() and "admin is not among its approvers" in card.inner_text()
        page.goto(f"{srv.url}/ui/approvals?token={alice}")  # signs in as alice; the token leaves the address
        assert page.url == f"{srv.url}/ui/approvals" and page.inner_text("#signed-in") == "alice"
        card = page.locator(".approval").first
        card.locator("input[name=comment]").fill("fine")
        card.locator("button[value=approve]").click()
        assert "approved by alice" in page.inner_text("#flash")
        done = wait_for(lambda: (run := srv.run(started))["status"] == "succeeded" and run, "the gated run to resume")
        assert done["result"] == {"paid": 12.0}


def test_outputs_cannot_run_scripts_in_the_pages(server, tmp_path):
    srv = server()
    srv.workflow("xss", XSS)
    srv.start()
    run_id = srv.api("POST", "/api/workflows/xss/runs", json={}).json()["run_id"]
    wait_for(lambda: srv.run(run_id)["status"] == "succeeded", "the run to finish")
    with chromium(tmp_path) as browser:
        page = browser.new_page()
        page.goto(f"{srv.url}/ui/runs/{run_id}?token={TOKEN}")
        frame = page.frame_locator("iframe.notebook")
        frame.locator("b", has_text="bold").wait_for(timeout=30_000)
        page.wait_for_timeout(500)
        assert page.evaluate("window.pwned") is None
        assert "<script>window.pwned = 4</script>" in page.inner_text("#result")
        assert page.locator("iframe.notebook").get_attribute("sandbox") == ""
    notebook = srv.api("GET", f"/ui/runs/{run_id}/notebook", token=None, cookies={}, allow_redirects=False)
    assert notebook.status_code == 302  # pages need the token too
