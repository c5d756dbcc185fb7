from __future__ import annotations

import re

import pytest

from jetnb.model.headers import HeaderError, parse_header, split_cell


def test_split_recognises_only_jetnb_magics():
    assert split_cell("%%step fetch --when 'x > 1'\nbody\nmore") == ("step", "fetch --when 'x > 1'", "body\nmore")
    assert split_cell("%%timeit\nx") is None
    assert split_cell("x = 1") is None


def test_step_with_guard():
    header = parse_header("step", 'refund --when "reason == \'wrong item\'"')
    assert header.name == "refund"
    assert header.get("when") == "reason == 'wrong item'"


def test_option_with_equals_sign():
    assert parse_header("step", "a --when=x>1").get("when") == "x>1"


@pytest.mark.parametrize("kind,line,message", [
    ("step", "", "needs a name"),
    ("step", "--when x", "needs a name"),
    ("step", "bad!name", "not a valid name"),
    ("step", "a --wen x", "unknown option --wen (did you mean --when?)"),
    ("step", "a --when", "--when needs a value"),
    ("step", "a --when 'x >'", "invalid Python expression"),
    ("step", "a --when x --when y", "given twice"),
    ("step", "a extra", "unexpected argument 'extra'"),
    ("step", "a --when 'unclosed", "cannot split"),
    ("result", "--when x", "this header takes no options"),
])
def test_bad_headers_say_what_is_wrong(kind, line, message):
    with pytest.raises(HeaderError, match=re.escape(message)):
        parse_header(kind, line)


def test_every_problem_of_a_line_is_reported():
    with pytest.raises(HeaderError) as info:
        parse_header("step", "a --wen x --retries -1 --timeout nan")
    assert info.value.problems == [
        "%%step a: unknown option --wen (did you mean --when?)",
        "%%step a: --retries: expected a number >= 0, got -1",
        "%%step a: --timeout: a duration must be a finite number, got 'nan'",
    ]
    assert info.value.name == "a"


@pytest.mark.parametrize("line,problems", [
    ("bad! --as x extra", ["not a valid name", "unexpected argument 'extra'", "--as needs --for-each"]),
    ("a --delay 1e400 --approval-timeout 400d", ["--delay: a duration must be a finite number",
                                                 "--approval-timeout: a duration cannot be longer than 366 days",
                                                 "--approval-timeout needs --approve WHO"]),
    ("a --backoff-factor inf --retries x", ["--backoff-factor: expected a finite number, got 'inf'",
                                            "--retries: expected a whole number, got 'x'"]),
    ("a --idempotent=yes --idempotent", ["--idempotent takes no value", "--idempotent given twice"]),
    ("a --when 'x >' --for-each '[1' --parallel 0", ["--when: invalid Python expression",
                                                      "--for-each: invalid Python expression",
                                                      "--parallel: expected a number >= 1"]),
])
def test_several_problems_each_named(line, problems):
    with pytest.raises(HeaderError) as info:
        parse_header("step", line)
    assert len(info.value.problems) == len(problems), info.value.problems
    for found, expected in zip(info.value.problems, problems):
        assert expected in found


@pytest.mark.parametrize("name", ["a" * 101, "a\nb", "1abc", "a.b", "ä"])
def test_step_names_are_bounded_and_plain(name):
    with pytest.raises(HeaderError, match="not a valid name"):
        parse_header("step", shlex_quote(name))


def shlex_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)


def test_hostile_values_are_quoted_briefly():
    with pytest.raises(HeaderError) as info:
        parse_header("step", f"a --retries {'9' * 4000} --when '{'(' * 4000}'")
    assert len(str(info.value)) < 400
    with pytest.raises(HeaderError, match="longer than 10000 characters"):
        parse_header("step", "a --message " + "x" * 10_000)
