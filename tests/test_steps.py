"""Step options end to end, with real kernels: retries, timeouts, handlers, iterators, delays, outputs."""

from __future__ import annotations

import json
import nbformat

from conftest import REPO


def run(cli, path: str, *args: str) -> tuple[dict, object]:
    result = cli("run", path, "--json", *args)
    assert result.stdout.strip(), result.stderr
    return json.loads(result.stdout), result


def step(record: dict, name: str) -> dict:
    return next(s for s in record["steps"] if s["name"] == name)


RETRIES = [
    "%load_ext jetnb",
    ("params", 'counter: str = "count.txt"'),
    '%%step flaky --retries 3 --backoff 0.05 --backoff-factor 1\nfrom pathlib import Path\np = Path(counter)\n'
    'n = int(p.read_text()) + 1 if p.exists() else 1\np.write_text(str(n))\n'
    'if n < 3:\n    raise ConnectionError(f"busy {n}")\nn',
    '%%step picky --retries 3 --backoff 0.01 --retry-on ConnectionError,TimeoutError --continue-on-error\n'
    'raise ValueError("not worth retrying")',
    "%%step risky --continue-on-error\n1 / 0",
    '%%step recover --when "steps.risky.failed" --delay 0.3\n'
    'recovered = f"{steps.risky.error.type} / {steps[\'risky\'].error[\'message\']}"',
    '%%step publish\nimport jetnb\njetnb.output(recovered=recovered, attempts=len(steps.flaky.attempts))',
    '%%result\n{"n": n, "recovered": recovered}',
]


def test_retry_succeeds_on_third_attempt_and_failures_can_be_branched_on(cli, make_nb, project):
    make_nb("retries.ipynb", RETRIES)
    record, result = run(cli, "retries.ipynb", "-p", "counter", str(project / "count.txt"))
    assert record["status"] == "succeeded", record["error"]
    assert (project / "count.txt").read_text() == "3"
    flaky = step(record, "flaky")
    assert [a["status"] for a in flaky["detail"]["attempts"]] == ["failed", "failed", "succeeded"]
    assert flaky["detail"]["attempts"][0]["error"] == {"type": "ConnectionError", "message": "busy 1"}
    picky = step(record, "picky")
    assert picky["status"] == "failed" and len(picky["detail"]["attempts"]) == 1  # ValueError is not retried
    assert step(record, "risky")["detail"]["continued"] is True
    recover = step(record, "recover")
    assert recover["status"] == "succeeded" and recover["duration"] >= 0.3
    assert "… step recover waiting (delay 300ms)" in result.stderr
    assert record["result"] == {"n": 3, "recovered": "ZeroDivisionError / division by zero"}
    assert record["outputs"] == {"recovered": "ZeroDivisionError / division by zero", "attempts": 3}
    shown = cli("show", record["id"]).stdout
    assert "attempt 2: failed" in shown and "attempt 3: succeeded" in shown
    assert 'output    attempts = 3' in shown
    log = nbformat.read(record["log_path"], as_version=4)
    assert log.metadata.jetnb.outputs == record["outputs"]
    flaky_cell = next(c for c in log.cells if c.source.startswith("%%step flaky"))
    assert len(flaky_cell.metadata.jetnb.attempts) == 3
    assert flaky_cell.outputs[0]["data"]["text/plain"] == "✓ step flaky succeeded in " + \
        flaky_cell.outputs[0]["data"]["text/plain"].split(" in ")[1]


FAILING_HANDLER = [
    "%load_ext jetnb",
    "%%workflow\nname: failing-handler\non_error: broken_alert",
    '%%handler broken_alert\nraise RuntimeError("alert service down")',
    "%%handler note\nnoted.append(f'{error.step}: {error}')\nprint('noted', noted)",
    "%%step prepare\nnoted = []",
    '%%step fetch --retries 2 --backoff 0.01 --on-error note\nraise ConnectionError("still down")',
    '%%step never\nprint("never")',
]


def test_exhausted_retries_fail_the_run_and_a_failing_handler_never_hides_the_error(cli, make_nb):
    make_nb("handlers.ipynb", FAILING_HANDLER)
    record, result = run(cli, "handlers.ipynb")
    assert result.returncode == 1
    assert record["status"] == "failed"
    assert record["error"]["type"] == "ConnectionError" and record["error"]["step"] == "fetch"
    fetch = step(record, "fetch")
    assert len(fetch["detail"]["attempts"]) == 3
    assert fetch["detail"]["handlers"] == [{"handler": "note", "on": "error", "status": "succeeded",
                                            "duration": fetch["detail"]["handlers"][0]["duration"]}]
    assert step(record, "never")["status"] == "not_run"
    finish = step(record, "on_error:broken_alert")
    assert finish["kind"] == "handler" and finish["status"] == "failed"
    assert finish["detail"]["handlers"][0]["error"]["message"] == "alert service down"
    log = nbformat.read(record["log_path"], as_version=4)
    assert log.cells[-1].source == "%jetnb_finish on_error broken_alert --step fetch"
    text = "".join(o.get("text", "") for o in log.cells[-1].outputs)
    assert "handler broken_alert (error) failed: RuntimeError: alert service down" in text
    fetch_cell = next(c for c in log.cells if c.source.startswith("%%step fetch"))
    assert "noted ['fetch: ConnectionError: still down']" in "".join(o.get("text", "") for o in fetch_cell.outputs)


ITERATORS = [
    "%load_ext jetnb",
    '%%step sleepy --for-each "[0.01, 5, 0.02]" --as secs --timeout 0.3 --skip-failures\n'
    "import time\ntime.sleep(secs)\nsecs",
    '%%step spinning --for-each "[1, 2]" --parallel 2 --timeout 0.3 --skip-failures\n'
    "while item == 2:\n    pass\nitem",
    '%%step skipping --for-each "range(6)" --as n --parallel 3 --skip-failures\n'
    'if n == 2:\n    raise ValueError(f"bad {n}")\nn * n',
    '%%step strict --for-each "range(5)" --as n --parallel 2 --continue-on-error\n'
    "import time\nif n == 0:\n    raise ValueError('first item is broken')\ntime.sleep(0.4)\nn",
    '%%step nothing --for-each "[]"\n1',
    '%%step broken_list --for-each "undefined_name" --continue-on-error\n1',
    '%%result\n{"squares": steps.skipping.values, "nothing": steps.nothing.value}',
]


def test_iterators_keep_per_item_results(cli, make_nb):
    make_nb("iterators.ipynb", ITERATORS)
    record, _ = run(cli, "iterators.ipynb")
    assert record["status"] == "succeeded", record["error"]

    sleepy = step(record, "sleepy")["detail"]["items"]
    assert [i["status"] for i in sleepy] == ["succeeded", "failed", "succeeded"]
    assert sleepy[1]["error"]["type"] == "StepTimeout" and sleepy[1]["duration"] < 4
    assert sleepy[1]["error"]["message"] == "step 'sleepy' item 1 timed out after 0.3s"

    spinning = step(record, "spinning")["detail"]["items"]
    assert [i["status"] for i in spinning] == ["succeeded", "failed"]
    assert spinning[1]["error"]["type"] == "StepTimeout"

    skipping = step(record, "skipping")
    assert skipping["status"] == "succeeded"
    assert [i["status"] for i in skipping["detail"]["items"]].count("failed") == 1
    assert record["result"]["squares"] == [0, 1, 9, 16, 25]

    strict = step(record, "strict")
    assert strict["status"] == "failed" and strict["error"]["type"] == "ItemsFailed"
    statuses = [i["status"] for i in strict["detail"]["items"]]
    assert statuses == ["failed", "succeeded", "not_run", "not_run", "not_run"]  # item 1 was in flight: it finished
    assert "1 of 5 items failed; first: item 0" in strict["error"]["message"]

    nothing = step(record, "nothing")
    assert nothing["status"] == "succeeded" and nothing["detail"]["items"] == []
    assert record["result"]["nothing"] == []

    broken = step(record, "broken_list")
    assert broken["error"]["type"] == "StepError"
    assert "--for-each 'undefined_name' raised NameError" in broken["error"]["message"]


def test_workflow_timeout_fails_the_run_and_runs_a_notebook_handler(cli, make_nb, project):
    make_nb("alert.ipynb", [
        "%load_ext jetnb",
        ("params", 'error: dict = {}\nworkflow: str = ""\nrun_id: str = ""'),
        '%%step write\nimport json\nopen("alert.json", "w").write(json.dumps({"error": error, "workflow": workflow, '
        '"run_id": run_id}))',
    ])
    make_nb("timeout.ipynb", [
        "%load_ext jetnb",
        "%%workflow\nname: bounded\ntimeout: 1s\non_error: alert.ipynb",
        "%%step quick\nx = 1",
        "%%step forever\nimport time\ntry:\n    time.sleep(30)\nexcept Exception:\n    pass  # cannot swallow RunTimeout",
    ])
    record, result = run(cli, "timeout.ipynb")
    assert result.returncode == 1
    assert record["error"]["type"] == "RunTimeout"
    assert record["error"]["message"] == "workflow 'bounded' exceeded its timeout of 1s"
    assert record["duration"] < 20
    assert [h["workflow"] for h in record["handler_runs"]] == ["alert"]
    alert = json.loads((project / "alert.json").read_text())
    assert alert["workflow"] == "bounded" and alert["run_id"] == record["id"]
    assert alert["error"]["type"] == "RunTimeout" and alert["error"]["step"] == "forever"
    handler_run = json.loads(cli("show", record["handler_runs"][0]["id"], "--json").stdout)
    assert handler_run["trigger"] == "handler" and handler_run["trigger_detail"]["parent_run"] == record["id"]


def test_example_notebooks_for_step_options_run(cli, project):
    fetch, _ = run(cli, str(REPO / "notebooks" / "resilient_fetch.ipynb"), "-p", "slow_seconds", "1")
    assert fetch["status"] == "succeeded"
    assert fetch["result"]["source"] == "fallback" and fetch["outputs"]["attempts"] == 3
    assert [h["workflow"] for h in fetch["handler_runs"]] == ["alert-on-failure"]
    prices, _ = run(cli, str(REPO / "notebooks" / "price_orders.ipynb"))
    assert prices["result"] == {"priced": 5, "failed": [4], "total": 161.5}


def test_graph_shows_iterators_handlers_and_their_edges(cli):
    graph = cli("graph", str(REPO / "notebooks" / "resilient_fetch.ipynb")).stdout
    assert "for each" not in graph
    assert '"first_quote<br/>retries 3"' in graph
    assert "-.->|on error| h_alert_on_failure_ipynb" in graph
    assert "done -.->|run failed| h_notify_failure" in graph
    assert 'h_notify_failure{{"handler notify_failure"}}' in graph
    orders = cli("graph", str(REPO / "notebooks" / "price_orders.ipynb")).stdout
    assert "for each order_id in order_ids (parallel 3), skip failures" in orders


def test_check_reports_missing_handlers_and_option_mistakes(cli, make_nb):
    make_nb("bad.ipynb", [
        "%load_ext jetnb",
        "%%workflow\non_error: pager",
        "%%step a --on-error nobody\npass",
        "%%step b --on-success missing.ipynb\npass",
        "%%step c --parallel 2\npass",
        "%%step d --backoff 2\npass",
        "%%step e --as x --for-each y\npass",
        "%%step f --retries -1\npass",
    ])
    out = cli("check", "bad.ipynb").stdout
    for expected in [
        "cell 2: %%workflow on_error: no %%handler named 'pager'",
        "cell 3: %%step a: --on-error: no %%handler named 'nobody'",
        "cell 4: %%step b: --on-success: no notebook 'missing.ipynb' next to this one",
        "cell 5: %%step c: --parallel needs --for-each",
        "cell 6: %%step d: --backoff needs --retries N (N >= 1)",
        "cell 8: %%step f: --retries: expected a number >= 0, got -1",
    ]:
        assert expected in out, out
    assert "cell 7" not in out


def test_handler_defined_later_still_runs_headless(cli, make_nb, project):
    make_nb("late.ipynb", [
        "%load_ext jetnb",
        '%%step fail --on-error late --continue-on-error\nraise KeyError("k")',
        '%%handler late\nopen("late.txt", "w").write(str(error))',
    ])
    record, _ = run(cli, "late.ipynb")
    assert record["status"] == "succeeded"
    assert (project / "late.txt").read_text() == "KeyError: 'k'"
