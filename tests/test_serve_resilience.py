"""A bad notebook never stops ``jetnb serve``: it starts, serves every other workflow, reports the broken one once
(and again only when it changes), and its listing routes keep answering."""

from __future__ import annotations

import json
import time

from conftest import notebook
from servekit import wait_for

GOOD = ["%load_ext jetnb", "%%workflow\nname: good\ntriggers:\n  - interval: {every: 1m}", "%%result\n'ok'"]
BROKEN_FILES = {
    "not_json.ipynb": "{ this is not json",
    "cells_not_list.ipynb": json.dumps({"cells": "nope", "metadata": {}, "nbformat": 4, "nbformat_minor": 4}),
    "metadata_list.ipynb": json.dumps({"cells": [], "metadata": [], "nbformat": 4, "nbformat_minor": 4}),
    "deep.ipynb": "[" * 100_000 + "]" * 100_000,
    "tags_five.ipynb": json.dumps({"cells": [{"cell_type": "code", "metadata": {"tags": 5}, "source": "1",
                                              "outputs": [], "execution_count": None}], "metadata": {},
                                   "nbformat": 4, "nbformat_minor": 4}),
}
BROKEN_CELLS = {
    "alias": ["%%workflow\nname: &a x\ntriggers: &t [*t]\n"],
    "never": ["%%workflow\nname: never\ntriggers:\n  - schedule: {cron: '0 0 30 2 *'}\n"],
    "nan": ["%%workflow\nname: nan\ntimeout: .nan\n"],
    "syntax": ["%load_ext jetnb", "%%step oops\nif True print('x')"],
}


def test_broken_notebooks_are_reported_once_and_the_rest_is_served(server):
    srv = server()
    srv.workflow("good", GOOD)
    for name, text in BROKEN_FILES.items():
        (srv.notebooks / name).write_text(text)
    for name, cells in BROKEN_CELLS.items():
        notebook(cells, srv.notebooks / f"{name}.ipynb")
    srv.start()
    listed = srv.api("GET", "/api/workflows")
    assert listed.status_code == 200 and [w["name"] for w in listed.json()["workflows"]] == ["good"]
    assert srv.api("GET", "/api/workflows/good").status_code == 200
    time.sleep(3)  # three rescans and ~60 scheduler looks: each problem is still said once
    log = srv.log()
    for name in [*BROKEN_FILES, *(f"{n}.ipynb" for n in BROKEN_CELLS)]:
        lines = [line for line in log.splitlines() if name in line and "problem" in line]
        assert lines, (name, log[-3000:])
        assert len({line.split(" problem: ", 1)[-1] for line in lines}) == len(lines), (name, lines)
    assert "Traceback" not in log

    srv.set_clock(srv.now() + 60)
    wait_for(lambda: srv.runs("good"), "the good workflow's interval to fire")
    changed = srv.notebooks / "nan.ipynb"
    notebook(["%%workflow\nname: nan\ntimeout: .inf\n"], changed)
    wait_for(lambda: "infinite" in srv.log() or "finite" in srv.log().split("timeout: .nan")[-1],
             "the changed notebook to be reported again")
    notebook(["%%workflow\nname: nan\ntimeout: 5m\n"], changed)  # fixed: now it is served
    wait_for(lambda: "nan" in [w["name"] for w in srv.api("GET", "/api/workflows").json()["workflows"]],
             "the fixed notebook to be served")
    assert srv.stop() == 0
