"""An approval gate run by a person in JupyterLab: the prompt appears, the click decides, the waiting cell goes on.

This is the interactive path of docs/format.md ("Waiting without holding a
kernel"): the gate records its request in the notebook folder's store and
waits in the cell while a kernel subshell handles the prompt's buttons.
"""

from __future__ import annotations

import pytest

from browser import chromium, jupyterlab, open_notebook
from conftest import notebook, run_cli
from jetnb.store import Store

pytestmark = pytest.mark.slow
WAIT_MS = 90_000

GATE = [
    "%load_ext jetnb",
    "%%workflow\nname: interactive-gate\napprovers:\n  managers: [alice]",
    ("params", "amount: float = 25.0"),
    '%%step pay --approve managers --message "Pay {amount:.2f} now?"\npaid = amount',
    'print("DECISION", steps.pay.decision.status, steps.pay.decision.by, steps.pay.decision.comment)',
]


def test_the_prompt_decides_and_the_cell_goes_on(tmp_path):
    root, home = tmp_path / "root", tmp_path / "home"
    root.mkdir()
    home.mkdir()
    notebook(GATE, root / "gate.ipynb")
    alice = run_cli("users", "add", "alice", cwd=root)  # the notebook's kernel acts as alice (its token)
    token = alice.stdout.split("token: ")[1].split()[0]
    with jupyterlab(root, home, env={"JETNB_USER_TOKEN": token}) as lab, chromium(home) as browser:
        page = browser.new_page()
        open_notebook(page, lab, "gate.ipynb")
        # the gate cell waits for the click below, so the command's promise must not be awaited here
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")
        prompt = page.locator(".jetnb-approval-prompt")
        prompt.wait_for(timeout=WAIT_MS)
        assert "Pay 25.00 now?" in prompt.inner_text() and "deciding as alice" in prompt.inner_text()
        prompt.locator("input").first.fill("ok from the browser")
        prompt.locator("button", has_text="Approve").click()
        page.locator(".jp-OutputArea-output", has_text="DECISION approved alice ok from the browser").wait_for(
            timeout=WAIT_MS)
    store = Store(root / ".jetnb" / "jetnb.db")
    [request] = store.list_approvals(pending_only=False)
    assert request["status"] == "approved" and request["decided_by"] == "alice"
    assert request["details"]["workflow"] == "interactive-gate"
