"""jetnb's pages inside a real JupyterLab, clicked in a real Chromium: signed in by Jupyter's token once, then by its
cookie, forms checked by Jupyter's XSRF token, the Jupyter user starting the run and approving it.

The screenshot goes to ``$JETNB_SCREENSHOTS`` (``docs/screenshots`` when refreshing the docs), else to the
test's temporary folder.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from browser import chromium, jupyterlab, lab_log
from conftest import notebook
from playwright.sync_api import expect

WAIT_MS = 90_000
pytestmark = pytest.mark.slow


def crate(user: str) -> list:
    return [
        "%load_ext jetnb",
        ("%%workflow\nname: load-crate\ndescription: Loads a crate once someone says so.\n"
         f'allow_self_approval: true\napprovers:\n  loaders: ["{user}"]'),
        ("params", "crate: str = 'C-1'  # which crate\nweight: float = 12.5  # kg"),
        "%%step weigh\nprint(f'{crate} weighs {weight} kg')",
        '%%step load --approve loaders --message "Load crate {crate}?"\nloaded = crate',
        "%%result\n{'loaded': loaded, 'weight': weight}",
    ]


def test_run_and_approve_on_the_mounted_pages_as_the_jupyter_user(tmp_path: Path):
    shots = Path(os.environ.get("JETNB_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    home.mkdir()
    with jupyterlab(root, home) as lab, chromium(home) as browser:
        page = browser.new_page()
        try:
            page.goto(f"{lab.url}/jetnb/ui/workflows?token={lab.token}", timeout=WAIT_MS)
            expect(page.locator("#serve-status")).to_have_attribute("data-running", "false")
            user = page.request.get(f"{lab.url}/jetnb/api/whoami").json()["user"]  # the browser's Jupyter user
            expect(page.locator("#signed-in")).to_have_text(user)
            notebook(crate(user), root / "crate.ipynb")
            deadline = time.monotonic() + 30  # the Lab hears of the new notebook from a file-system event
            while page.request.get(f"{lab.url}/jetnb/api/workflows/load-crate").status == 404:
                assert time.monotonic() < deadline
                time.sleep(0.1)

            page.goto(f"{lab.url}/jetnb/ui/workflows", timeout=WAIT_MS)  # no token now: Jupyter's cookie
            page.locator("a", has_text="load-crate").click()
            page.fill("#p-crate", "C-7")
            page.click("#run-button")
            page.wait_for_url(re.compile(r".*/jetnb/ui/runs/[0-9a-f-]+$"), timeout=WAIT_MS)
            run_id = page.url.rsplit("/", 1)[1]
            expect(page.locator("#run-status")).to_have_text("waiting", timeout=WAIT_MS)

            page.locator("a", has_text="decide").click()
            request = page.locator(".approval", has_text="Load crate C-7?")
            request.locator("input[name=comment]").fill("forklift ready")
            request.locator("button", has_text=f"Approve as {user}").click()
            expect(page.locator("#flash")).to_contain_text(f"approved by {user}", timeout=WAIT_MS)

            page.goto(f"{lab.url}/jetnb/ui/runs/{run_id}", timeout=WAIT_MS)
            expect(page.locator("#run-status")).to_have_text("succeeded", timeout=WAIT_MS)
            expect(page.locator("#result")).to_contain_text('"loaded": "C-7"')
            expect(page.locator("#steps")).to_contain_text(f"approved by {user} (forklift ready)")
            page.frame_locator("iframe.notebook").locator("text=C-7 weighs 12.5 kg").first.wait_for(timeout=WAIT_MS)
            page.set_viewport_size({"width": 1100, "height": 1150})
            page.screenshot(path=str(shots / "lab_pages_run.png"))

            run = page.request.get(f"{lab.url}/jetnb/api/runs/{run_id}").json()
            assert run["started_by"] == user and run["trigger"] == "web"
            for link in page.locator("a").evaluate_all("links => links.map(a => a.getAttribute('href'))"):
                assert link.startswith("/jetnb/"), link
        except Exception:
            page.screenshot(path=str(home / "failure.png"))
            raise RuntimeError(f"the browser test failed; screenshot {home / 'failure.png'}; "
                               f"server log:\n{lab_log(lab)}")
        finally:
            page.close()
