"""The widgets show a run's artifacts as download links once it has ended and call ``on_finished(run)``: RunButton,
RunForm, TableTrigger and RunHistory with a ``LocalClient`` (real runs in real kernels, a temporary store); the
``ServerClient`` side is in ``test_artifacts_serve.py``."""

from __future__ import annotations

import pytest

from servekit import wait_for
from jetnb.widgets import LocalClient, RunButton, RunForm, RunHistory, TableTrigger

TIMEOUT = 120
MAKE = ["%load_ext jetnb", "%%workflow\nname: make", ("params", "who: str = 'Ada'"),
        "%%step save\nimport jetnb\njetnb.artifact(f'{who}.csv', 'name\\n' + who + '\\n', description='one row')",
        "%%result\nwho"]
HOLD = ["%load_ext jetnb", "%%workflow\nname: hold", ("params", "gate: str = 'release'"),
        "%%step hold\nimport jetnb, os, time\njetnb.artifact('held.txt', 'x')\nt0 = time.monotonic()\n"
        "while not os.path.exists(gate) and time.monotonic() - t0 < 60:\n    time.sleep(0.05)"]


def finished_once(calls: list, timeout: float = TIMEOUT) -> dict:
    run = wait_for(lambda: calls and calls[0], "on_finished", timeout)
    assert len(calls) == 1
    return run


def test_run_button_links_the_artifacts_and_calls_on_finished(make_nb, project):
    path = make_nb("make.ipynb", MAKE)
    calls: list = []
    button = RunButton(path, {"who": "Grace"}, on_finished=calls.append)
    button.start()
    run = finished_once(calls)
    assert run["status"] == "succeeded" and [a["name"] for a in run["artifacts"]] == ["Grace.csv"]
    link = f"runs/make/{run['id']}/artifacts/Grace.csv"
    button.status.wait(TIMEOUT)
    assert f"- [⬇ Grace.csv]({link}) (11 B) — one row" in button.status.markdown
    assert (project / link).read_text() == "name\nGrace\n"  # the link opens the real file, relative to the kernel
    client = button.client
    assert client.artifact_link(run["id"], "Grace.csv") == link
    saved = client.download_artifact(run["id"], "Grace.csv", project / "out.csv")
    assert saved.read_text() == "name\nGrace\n"
    with pytest.raises(LookupError, match="has no artifact"):
        client.download_artifact(run["id"], "nope.csv")


def test_run_form_and_a_failing_callback(make_nb, project):
    path = make_nb("make.ipynb", MAKE)

    def explode(run: dict) -> None:
        raise RuntimeError(f"cannot open {run['artifacts'][0]['name']}")

    form = RunForm(path, on_finished=explode)
    form.fields["who"].input.value = "Lin_[2]"
    form.submit()
    run = form.status.wait(TIMEOUT)
    assert run["status"] == "succeeded"
    shown = form.status.markdown
    assert f"[⬇ Lin\\_\\[2\\].csv](runs/make/{run['id']}/artifacts/Lin_%5B2%5D.csv)" in shown  # the name as written
    assert shown.endswith("**on_finished failed**: RuntimeError: cannot open Lin_[2].csv")
    assert not form.status.busy  # the widget is usable again


def test_table_trigger_rows_link_their_own_artifacts(make_nb, project):
    path = make_nb("make.ipynb", MAKE)
    calls: list = []
    table = TableTrigger([{"who": "Ada"}, {"who": "Bo"}], path, on_finished=calls.append)
    table.click_row(1)
    run = finished_once(calls)
    table.statuses[1].wait(TIMEOUT)
    assert f"[⬇ Bo.csv](runs/make/{run['id']}/artifacts/Bo.csv)" in table.statuses[1].markdown
    assert "⬇" not in table.statuses[0].markdown
    again = TableTrigger([{"who": "Ada"}, {"who": "Bo"}], path)  # a later table shows the row's last run
    assert f"[⬇ Bo.csv](runs/make/{run['id']}/artifacts/Bo.csv)" in again.statuses[1].markdown


def test_run_history_follows_a_running_run_to_its_end(make_nb, project):
    path = make_nb("hold.ipynb", HOLD)
    client = LocalClient()
    run_id = client.start_run(path)
    calls: list = []
    history = RunHistory(path, client=client, on_finished=calls.append)
    wait_for(lambda: history.details.run, "the run to be shown", TIMEOUT)
    assert history.details.run["id"] == run_id and "⬇" not in history.details.markdown
    (project / "release").touch()
    run = finished_once(calls)
    assert run["id"] == run_id and run["status"] == "succeeded"
    history.details.wait(TIMEOUT)
    assert f"[⬇ held.txt](runs/hold/{run_id}/artifacts/held.txt)" in history.details.markdown
    history.refresh()  # showing an ended run again is not another end
    assert len(calls) == 1 and "[⬇ held.txt]" in history.details.markdown
