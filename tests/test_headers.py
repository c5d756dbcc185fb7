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
