from __future__ import annotations

import pytest

from jetnb.model.params import ParameterError, coerce_params, parse_parameters

CELL = '''import os
order_id: int = 0  # the order to refund
# why the customer asks
reason: str = "wrong item"
ratio: float = 0.5
dry_run: bool = False  # do nothing for real
tags: list = []
options: dict = {}
limit: Optional[int] = None
note: str | None = None
count = 3
folder = os.getcwd()
'''


@pytest.fixture
def declared():
    return parse_parameters(CELL)


def test_types_defaults_and_help_are_read(declared):
    by_name = {p.name: p for p in declared}
    assert [p.name for p in declared] == ["order_id", "reason", "ratio", "dry_run", "tags", "options", "limit",
                                          "note", "count", "folder"]
    assert str(by_name["order_id"].type) == "int" and by_name["order_id"].help == "the order to refund"
    assert by_name["reason"].help == "why the customer asks"
    assert str(by_name["limit"].type) == "Optional[int]"
    assert str(by_name["note"].type) == "Optional[str]"
    assert str(by_name["count"].type) == "int"  # inferred from the literal default
    assert str(by_name["folder"].type) == "any" and not by_name["folder"].literal_default


@pytest.mark.parametrize("name,text,expected", [
    ("order_id", "42", 42),
    ("ratio", "2", 2.0),
    ("dry_run", "yes", True),
    ("dry_run", "0", False),
    ("tags", "[a, b]", ["a", "b"]),
    ("options", '{"x": 1}', {"x": 1}),
    ("limit", "none", None),
    ("limit", "7", 7),
    ("reason", "42", "42"),
    ("note", "null", None),
])
def test_text_values_are_coerced_by_declared_type(declared, name, text, expected):
    assert coerce_params(declared, {name: text}) == {name: expected}


@pytest.mark.parametrize("name,value,expected", [
    ("order_id", 5, 5), ("order_id", 5.0, 5), ("ratio", 1, 1.0), ("tags", ("a",), ["a"]), ("count", "9", 9),
])
def test_typed_values_are_accepted_losslessly(declared, name, value, expected):
    assert coerce_params(declared, {name: value}) == {name: expected}


@pytest.mark.parametrize("name,value,message", [
    ("order_id", "abc", "parameter 'order_id': expected int, got 'abc'"),
    ("order_id", 1.5, "expected int"),
    ("order_id", True, "expected int"),
    ("dry_run", "maybe", "expected bool"),
    ("tags", "{a: 1}", "expected list"),
    ("reason", None, "expected str, got null"),
    ("ordr_id", 1, "unknown parameter 'ordr_id' (did you mean 'order_id'?)"),
])
def test_bad_values_name_the_parameter(declared, name, value, message):
    with pytest.raises(ParameterError) as info:
        coerce_params(declared, {name: value})
    assert message in str(info.value)


def test_every_problem_is_reported_at_once(declared):
    with pytest.raises(ParameterError) as info:
        coerce_params(declared, {"x": 1, "order_id": "no"})
    assert len(info.value.problems) == 2


def test_no_parameters_cell_rejects_any_value():
    with pytest.raises(ParameterError, match="declares no parameters"):
        coerce_params([], {"x": 1})


@pytest.mark.parametrize("source,message", [
    ("x: int = ", "line 1: syntax error"),
    ("print('hi')", "only assignments"),
    ("x: int = 1\nx: int = 2", "declared twice"),
    ("x: Decimal = 1", "unsupported type 'Decimal'"),
    ("x: int = 'a'", "default expected int"),
    ("x: int", "needs a default value"),
])
def test_malformed_parameters_cells(source, message):
    with pytest.raises(ValueError, match=message):
        parse_parameters(source)
