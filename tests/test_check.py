"""``jetnb check`` and ``jetnb graph`` on good and broken notebooks, through the real CLI."""

from __future__ import annotations

import json

from conftest import REPO

BROKEN = [
    "%load_ext jetnb",
    "%%workflow\nname: broken\nconcurency: 2\ntriggers:\n  - schedule: {cron: '61 * * * *', timezone: Moon/Base}\n",
    ("params", 'x: int = "a"'),
    '%%step a --wen "x > 1"\npass',
    '%%step b --when "x >"\npass',
    "%%step b\npass",
    "%%result\n1",
    "%%result\n2",
]


def test_examples_and_templates_are_clean(cli):
    paths = [str(p) for p in sorted((REPO / "notebooks").glob("*.ipynb")) + sorted((REPO / "templates").glob("*.ipynb"))]
    result = cli("check", *paths)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count(": ok (") == len(paths)


def test_every_problem_is_reported_with_file_and_cell(cli, make_nb):
    make_nb("broken.ipynb", BROKEN)
    result = cli("check", "broken.ipynb")
    assert result.returncode == 1
    out = result.stdout
    for expected in [
        "broken.ipynb: cell 2: %%workflow: concurency: unknown key (did you mean 'concurrency'?)",
        "broken.ipynb: cell 2: %%workflow: triggers[0].schedule.cron: invalid cron expression '61 * * * *'",
        "broken.ipynb: cell 2: %%workflow: triggers[0].schedule.timezone: unknown time zone 'Moon/Base'",
        "broken.ipynb: cell 3: parameters cell: line 1: parameter 'x': default expected int, got 'a'",
        "broken.ipynb: cell 4: %%step a: unknown option --wen (did you mean --when?)",
        "broken.ipynb: cell 5: %%step b: --when: invalid Python expression 'x >'",
        "broken.ipynb: cell 6: duplicate step name 'b' (also cell 5)",
        "broken.ipynb: cell 8: a second %%result cell (the first is cell 7)",
    ]:
        assert expected in out, out
    assert "8 problems found" in result.stderr


def test_unreadable_and_invalid_notebooks(cli, project):
    (project / "truncated.ipynb").write_text('{"cells": [')
    (project / "noschema.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "x"}], "nbformat": 4}')
    result = cli("check", "truncated.ipynb", "missing.ipynb", "noschema.ipynb", "--json")
    assert result.returncode == 1
    reports = {r["path"]: r for r in json.loads(result.stdout)}
    assert "invalid JSON at line 1" in reports["truncated.ipynb"]["problems"][0]["message"]
    assert reports["missing.ipynb"]["problems"][0]["message"] == "file not found"
    assert "invalid notebook" in reports["noschema.ipynb"]["problems"][0]["message"]


def test_graph_draws_triggers_guards_and_result(cli):
    result = cli("graph", str(REPO / "notebooks" / "refund_order.ipynb"))
    assert result.returncode == 0, result.stderr
    graph = result.stdout
    assert graph.startswith("flowchart TD")
    assert '"webhook POST /hooks/refund (hmac)"' in graph
    assert "{\"reason == 'wrong item'\"}" in graph
    assert "-->|yes| c8" in graph and "g8 -->|no| g9" in graph
    assert '[["result"]]' in graph
