from __future__ import annotations

import datetime
import math

import pytest

from jetnb.model.params import (MAX_FILE_BYTES, ParameterError, Typed, coerce_params, load_params_file,
                                parse_parameters, typed)

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


# one safe decoder: text is parsed by type, typed values must fit, every value must be JSON ----------------

SAFE = parse_parameters("n: int = 0\nx: float = 0.0\nl: list = []\nd: dict = {}\ns: str = ''\na = None\n"
                        "o: Optional[int] = None")


def problem_of(values: dict) -> str:
    with pytest.raises(ParameterError) as info:
        coerce_params(SAFE, values)
    assert len(info.value.problems) == 1
    return info.value.problems[0]


@pytest.mark.parametrize("name,text,message", [
    ("l", "abc", "parameter 'l': expected list (JSON or YAML), got 'abc'"),
    ("d", "abc", "parameter 'd': expected dict (JSON or YAML), got 'abc'"),
    ("l", "{a: 1}", "expected list (JSON or YAML), got dict '{a: 1}'"),
    ("l", "a: &x [1, 2]\nb: *x", "YAML anchors (&x) are not allowed"),
    ("d", "b: *x", "YAML aliases (*x) are not allowed"),
    ("l", "[" * 65 + "]" * 65, "nested deeper than 64 levels"),
    ("l", "[" + "9" * 5000 + "]", "more than 100 characters"),
    ("l", "[2026-01-01]", "parameter 'l': [0]: dates are not allowed, give text"),
    ("d", "order: {items: [1, 2, {when: 2026-01-01}]}", "parameter 'd': order.items[2].when: dates are not allowed"),
    ("l", "[!!binary aGk=]", "[0]: binary values are not allowed, give text"),
    ("l", "[!!set {a}]", "[0]: sets are not allowed, give a list"),
    ("l", "[.nan]", "[0]: not a finite number"),
    ("l", "[1.0e400]", "[0]: not a finite number"),
    ("l", "[NaN]" + " " * 0, None),
    ("d", "{1: 2}", "parameter 'd': keys must be text, got 1 (int)"),
    ("d", "{a: 2026-02-30}", "not a valid date"),
    ("l", "[" + "1," * 600000 + "1]", "longer than 1 MiB"),
    ("n", "9" * 5000, "expected int, got '999"),
    ("n", "9223372036854775808", "integers must be between -2**63 and 2**63-1"),
    ("n", "1_000", "expected int, got '1_000'"),
    ("x", "nan", "expected float, got 'nan'"),
    ("x", "1e400", "not a finite number"),
    ("x", "infinity", "expected float"),
    ("s", "bad \udcff byte", "text with an unpaired surrogate"),
])
def test_text_values_are_parsed_safely(name, text, message):
    if message is None:
        assert coerce_params(SAFE, {name: text}) == {name: ["NaN"]}  # not JSON's NaN: YAML reads it as text
        return
    assert message in problem_of({name: text})


def test_aliases_cannot_blow_up_a_value():
    laughs = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n"
        for i in range(9))
    assert "YAML anchors" in problem_of({"d": laughs})


@pytest.mark.parametrize("name,value,message", [
    ("n", Typed("3"), "parameter 'n': expected int, got '3' (text: typed values are not parsed"),
    ("o", Typed("none"), "give null unquoted"),
    ("x", Typed(math.nan), "not a finite number"),
    ("x", Typed(math.inf), "not a finite number"),
    ("n", Typed(2**64), "integers must be between"),
    ("n", Typed(1e300), "integers must be between"),
    ("l", Typed([1, {2: 3}]), "parameter 'l': [1]: keys must be text, got 2 (int)"),
    ("d", Typed({"order": {"items": [1, 2, {"when": datetime.date(2026, 1, 1)}]}}),
     "parameter 'd': order.items[2].when: dates are not allowed, give text"),
    ("a", Typed(b"bytes"), "binary values are not allowed"),
    ("a", Typed({1, 2}), "sets are not allowed"),
    ("a", Typed(1j), "complex values are not allowed"),
    ("s", Typed(datetime.datetime(2026, 1, 1)), "dates are not allowed"),
    ("l", Typed("[1, 2]"), "expected list, got '[1, 2]'"),
])
def test_typed_values_must_fit_as_they_are(name, value, message):
    assert message in problem_of({name: value})


def test_typed_values_keep_their_types():
    values = typed({"n": 3, "x": 2, "l": [1, (2, 3)], "d": {"k": None}, "s": "3", "o": None, "a": {"deep": [1.5]}})
    assert coerce_params(SAFE, values) == {"n": 3, "x": 2.0, "l": [1, [2, 3]], "d": {"k": None}, "s": "3",
                                            "o": None, "a": {"deep": [1.5]}}


def test_text_overrides_typed_when_merged():
    merged = {**typed({"n": 1, "s": "from file"}), "n": "7"}
    assert coerce_params(SAFE, merged) == {"n": 7, "s": "from file"}


def test_deep_and_shared_python_values_are_bounded():
    deep: list = []
    for _ in range(10_000):
        deep = [deep]
    assert "nested deeper than 64 levels" in problem_of({"l": deep})
    shared: list = ["x" * 10]
    for _ in range(60):
        shared = [shared, shared]
    assert "larger than 1 MiB as JSON" in problem_of({"l": shared})


def test_literal_defaults_that_are_not_json_are_left_to_the_kernel():
    by_name = {p.name: p for p in parse_parameters("b = b'x'\ns = {1, 2}\nk: dict = {1: 2}\nf = 1e400")}
    assert all(not p.literal_default for p in by_name.values())
    assert by_name["b"].default == "b'x'" and str(by_name["k"].type) == "dict"


@pytest.mark.parametrize("source,message", [
    ("x = " + "[" * 300 + "]" * 300, "syntax error"),
    ("x = " + "+".join(["1"] * 100_000), "nested too deeply"),
    ("x = 1\0", "syntax error"),
    ("x = " + "1" * 5000, "syntax error"),
])
def test_hostile_parameters_cells_are_problems_not_crashes(source, message):
    with pytest.raises(ValueError, match=message):
        parse_parameters(source)


# the -f file ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name,content,expected", [
    ("p.yaml", "n: 3\ns: '3'\n", {"n": 3, "s": "3"}),
    ("p.json", '{"n": 3, "l": [1]}', {"n": 3, "l": [1]}),
    ("p.yml", '{"n": 3}', {"n": 3}),
    ("empty.yaml", "", {}),
    ("bom.json", "\ufeff{\"n\": 1}", {"n": 1}),
])
def test_parameters_files(tmp_path, name, content, expected):
    (tmp_path / name).write_text(content, encoding="utf-8")
    assert load_params_file(tmp_path / name) == expected


@pytest.mark.parametrize("name,content,message", [
    ("missing.yaml", None, "cannot read parameters file {path}: no such file"),
    ("latin1.yaml", b"n: \xe9\n", "{path}: not UTF-8 text (byte 0xe9 at position 3)"),
    ("bad.yaml", "n: [1\n", "{path}: invalid YAML: line 2: expected ',' or ']', but got '<stream end>' (while "
                             "parsing a flow sequence that began on line 1)"),
    ("bad.json", '{"n": 1,}', "{path}: invalid JSON: line 1 column 9"),
    ("nan.json", '{"n": NaN}', "{path}: invalid JSON: NaN is not a number JSON allows"),
    ("big.json", '{"n": ' + "9" * 5000 + "}", "more than 100 characters"),
    ("big.yaml", "n: " + "9" * 5000, "more than 100 characters"),
    ("list.yaml", "- a\n", "{path}: expected a mapping of parameter names to values, got list"),
    ("keys.yaml", "1: a\n", "{path}: parameter names must be text, got 1"),
    ("alias.yaml", "a: &x 1\nb: *x\n", "YAML anchors (&x) are not allowed"),
    ("two.yaml", "a: 1\n---\nb: 2\n", "invalid YAML"),
    ("huge.yaml", "a: " + "x" * (MAX_FILE_BYTES + 1), "larger than 4 MiB"),
])
def test_bad_parameters_files_say_what_is_wrong(tmp_path, name, content, message):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(ParameterError) as info:
        load_params_file(path)
    assert message.format(path=path) in str(info.value)


def test_a_folder_is_not_a_parameters_file(tmp_path):
    with pytest.raises(ParameterError, match="cannot read parameters file"):
        load_params_file(tmp_path)
