"""``Workflow.load`` on notebooks of every shape: problems with cell numbers, never an exception."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import notebook
from jetnb.model.workflow import Workflow


def problems_of(tmp_path: Path, cells: list[Any]) -> list[str]:
    return [str(p) for p in Workflow.load(notebook(cells, tmp_path / "nb.ipynb")).problems]


def raw_problems(tmp_path: Path, raw: Any) -> list[str]:
    path = tmp_path / "nb.ipynb"
    path.write_text(raw if isinstance(raw, str) else json.dumps(raw), encoding="utf-8")
    return [str(p) for p in Workflow.load(path).problems]


def nb(cells: list[Any], **top: Any) -> dict[str, Any]:
    return {"cells": cells, "nbformat": 4, "nbformat_minor": 4,
            "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}, **top}


def code(source: Any, **fields: Any) -> dict[str, Any]:
    return {"cell_type": "code", "source": source, "metadata": {}, "outputs": [], "execution_count": None, **fields}


@pytest.mark.parametrize("raw,expected", [
    (nb([{"cell_type": "bogus", "source": "x", "metadata": {}}]),
     "cell 1: invalid cell: unknown cell type 'bogus' (code, markdown or raw)"),
    (nb([code("x = 1")], metadata=[]), "nb.ipynb: invalid notebook: metadata: expected a mapping, got a list"),
    (nb([code("x = 1", metadata={"tags": 5})]), "cell 1: invalid cell: metadata.tags: expected a list of text, got 5"),
    (nb([code([1, 2])]), "cell 1: invalid cell: source: expected text or a list of lines of text, got a list holding 1"),
    (nb([code("x")], metadata={"kernelspec": "python3"}),
     "invalid notebook: metadata.kernelspec: expected a mapping, got 'python3'"),
    (nb([code("x")], nbformat=3), "invalid notebook: nbformat must be 4, got 3"),
    (nb([[1, 2]]), "cell 1: invalid cell: expected a mapping, got a list holding 1"),
    (nb([{"cell_type": 5, "source": "x"}]), "cell 1: invalid cell: unknown cell type 5"),
    (nb([code("x", outputs=5)]), "cell 1: invalid notebook: 5 is not of type 'array' (at cells/0/outputs)"),
    (nb([code("x")], nbformat_minor=True), "invalid notebook: True is not of type 'integer' (at nbformat_minor)"),
    ({"cells": [code("x")], "nbformat": 4}, "invalid notebook: 'metadata' is a required property"),
    ("[" * 100_000 + "]" * 100_000, "nb.ipynb: not a notebook: JSON nested deeper than 100 levels"),
    (json.dumps(nb([code("x", metadata={"deep": json.loads("[" * 150 + "]" * 150)})])),
     "not a notebook: JSON nested deeper than 100 levels"),
    ('{"cells": [], "nbformat": ' + "1" * 5000 + "}", "not a notebook: a number has more than 4300 digits"),
    ([1, 2], "not a notebook: no list of cells"),
    ({"cells": {"a": 1}}, "not a notebook: no list of cells"),
])
def test_malformed_notebooks_are_problems(tmp_path, raw, expected):
    problems = raw_problems(tmp_path, raw)
    assert any(expected in p for p in problems), problems


def test_bytes_that_are_not_utf8(tmp_path):
    (tmp_path / "nb.ipynb").write_bytes(b'{"cells": ["\xff"]}')
    assert [str(p) for p in Workflow.load(tmp_path / "nb.ipynb").problems] == [
        f"{tmp_path / 'nb.ipynb'}: cannot read the file: not UTF-8 (byte 0xff at position 12)"]


def test_one_schema_problem_per_broken_cell_and_the_cell_is_kept_in_order(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb([code("a = 1"), {"cell_type": "bogus", "source": "b"}, code("c = 1", outputs=5)])))
    workflow = Workflow.load(path)
    assert [(p.cell, p.message.split(":")[0]) for p in workflow.problems] == [
        (2, "invalid cell"), (3, "invalid notebook")]
    assert [c.role for c in workflow.cells] == ["step", "invalid", "step"]


@pytest.mark.parametrize("cells,expected", [
    (["%%step a\nx = ("], "cell 1: line 2: syntax error: '(' was never closed"),
    (["\n\n%%step a\n\nx = 1\ny = = 2"], "cell 1: line 6: syntax error: invalid syntax"),
    (["x = 1\nif x\n    pass"], "cell 1: line 2: syntax error: expected ':'"),
    (["%%handler h\ndef f(:\n  pass"], "cell 1: line 2: syntax error"),
    (["%%result\n{'a': }"], "cell 1: line 2: syntax error"),
    (["%%step a\nawait thing()"], "cell 1: line 2: syntax error: 'await' outside function"),
    (["x = 1\0"], "cell 1: line 1: syntax error"),
    (["%%stepp a\nx = 1"], "cell 1: unknown cell magic %%stepp (did you mean %%step?)"),
    (["%%reslt\n1"], "cell 1: unknown cell magic %%reslt (did you mean %%result?)"),
    (["%%handle h\n1"], "cell 1: unknown cell magic %%handle (did you mean %%handler?)"),
    (["%%workflw\nname: x"], "cell 1: unknown cell magic %%workflw (did you mean %%workflow?)"),
])
def test_code_that_would_fail_to_compile_is_a_problem(tmp_path, cells, expected):
    problems = problems_of(tmp_path, cells)
    assert any(expected in p for p in problems), problems


@pytest.mark.parametrize("source", [
    "!ls -la\n%time x = 1\ny = x?",
    "%%bash\nfor x in (; do",
    "%%capture out\nprint(1)",
    "%%writefile f.txt\nnot python (",
    "%%time\nx = 1",
    "%%sql\nSELECT 1",
    "await asyncio.sleep(0)",
    "    indented = 1\n    also = 2",
])
def test_ipython_syntax_and_other_cell_magics_are_fine(tmp_path, source):
    assert problems_of(tmp_path, [source]) == []


def test_other_languages_are_not_compiled_as_python(tmp_path):
    raw = nb([code("x <- c(1, 2")])
    raw["metadata"]["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    assert raw_problems(tmp_path, raw) == []


def test_trigger_params_are_checked_against_the_parameters_cell(tmp_path):
    problems = problems_of(tmp_path, [
        "%load_ext jetnb",
        "%%workflow\ntriggers:\n  - schedule: {cron: '0 9 * * *', params: {count: '3', labl: x}}\n"
        "  - interval: {every: 1h, params: {when: 2026-01-01, count: 2}}\n"
        "  - webhook: {name: h, auth: none, params: {count: 1, label: ok}}",
        ("params", "count: int = 1\nlabel: str = ''\nwhen: str = ''"),
    ])
    assert problems == [
        f"{tmp_path / 'nb.ipynb'}: cell 2: %%workflow: triggers[0].schedule.params: parameter 'count': expected int, "
        "got '3' (text: typed values are not parsed; give the value unquoted)",
        f"{tmp_path / 'nb.ipynb'}: cell 2: %%workflow: triggers[0].schedule.params: unknown parameter 'labl' "
        "(did you mean 'label'?); declared: count, label, when",
        f"{tmp_path / 'nb.ipynb'}: cell 2: %%workflow: triggers[1].interval.params: parameter 'when': dates are not "
        "allowed, give text",
    ]


def test_trigger_params_without_a_parameters_cell(tmp_path):
    problems = problems_of(tmp_path, ["%%workflow\ntriggers:\n  - interval: {every: 1h, params: {x: 1}}"])
    assert any("triggers[0].interval.params: unknown parameter 'x': the notebook declares no parameters" in p
               for p in problems), problems


def test_a_broken_parameters_cell_does_not_make_every_trigger_param_unknown(tmp_path):
    problems = problems_of(tmp_path, ["%%workflow\ntriggers:\n  - interval: {every: 1h, params: {x: 1}}",
                                      ("params", "x: int = ")])
    assert len(problems) == 1 and "parameters cell: line 1: syntax error" in problems[0]


def test_every_header_problem_is_its_own_line(tmp_path):
    problems = problems_of(tmp_path, ["%%step a --wen x --retries -1 --timeout nan\npass"])
    assert [p.split("cell 1: ")[1] for p in problems] == [
        "%%step a: unknown option --wen (did you mean --when?)",
        "%%step a: --retries: expected a number >= 0, got -1",
        "%%step a: --timeout: a duration must be a finite number, got 'nan'",
    ]


def test_role_of_never_raises_on_odd_cells():
    for cell in ({}, {"cell_type": None}, {"cell_type": "code", "source": 5, "metadata": []},
                 {"cell_type": "code", "source": ["%%step a\n", 3], "metadata": {"tags": "parameters"}}, [], None):
        assert Workflow.role_of(cell) in ("invalid", "empty")
