"""The field checks every YAML key and header option shares: durations, names, sizes, crons, time zones."""

from __future__ import annotations

import math

import pytest

from jetnb.durations import MAX_SECONDS, parse_duration
from jetnb.fields import size, slug, timezone_name
from jetnb.quoting import shown
from jetnb.triggers.schedule import cron_expression


@pytest.mark.parametrize("value,seconds", [
    (90, 90.0), ("2.5", 2.5), ("30s", 30.0), ("1h30m", 5400.0), ("250ms", 0.25), ("366d", MAX_SECONDS), (0, 0.0),
])
def test_durations_people_write(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value,message", [
    (math.nan, "finite"), ("nan", "finite"), ("inf", "finite"), ("-inf", "finite"), ("1e400", "finite"),
    (10**400, "finite"), ("367d", "longer than 366 days"), ("53w", "longer than 366 days"), (-1, "negative"),
    (True, "not a duration"), ("soon", "not a duration"), ("1h30", "not a duration"),
])
def test_durations_refuse_nan_infinity_and_absurd_values(value, message):
    with pytest.raises(ValueError, match=message):
        parse_duration(value)


@pytest.mark.parametrize("value", ["refund-order", "a", "v1.2_x", "x" * 100])
def test_slugs(value):
    assert slug(value) == value


@pytest.mark.parametrize("value", ["name\n", "\nname", "two words", "", "x" * 101, "-x", 5, None, ["a"], "naïve\u2028"])
def test_slugs_refuse_newlines_spaces_and_overlong_names(value):
    with pytest.raises(ValueError, match="not a valid name"):
        slug(value)


@pytest.mark.parametrize("value,expected", [(1, 1), ("1MiB", 1024**2), ("2 KB", 2000)])
def test_sizes(value, expected):
    assert size(value) == expected


@pytest.mark.parametrize("value", [0, "0", "0B", "0MiB", -1, True, "1 TiB", "lots", 1.5])
def test_sizes_refuse_zero_and_nonsense(value):
    with pytest.raises(ValueError):
        size(value)


@pytest.mark.parametrize("expression", ["* * * * *", "0 9 * * MON-FRI", "@daily", "0 0 29 2 *"])
def test_crons_that_fire(expression):
    assert cron_expression(expression) == expression


@pytest.mark.parametrize("expression,message", [
    ("0 0 30 2 *", "never fires"),
    ("0 0 31 4 *", "never fires"),
    ("0 0 * * * *", "expected 5 fields"),
    ("0 0 * * * * 2030", "expected 5 fields"),
    ("61 * * * *", "invalid cron expression"),
    ("* * *", "expected 5 fields"),
    ("", "expected 5 fields"),
])
def test_crons_that_cannot_fire_or_have_the_wrong_shape(expression, message):
    with pytest.raises(ValueError, match=message):
        cron_expression(expression)


@pytest.mark.parametrize("name", ["Mars/Olympus", "a" * 5000, "../etc", "\x00", "America"])
def test_time_zones_that_do_not_exist_are_named_not_crashed_on(name):
    with pytest.raises(ValueError, match="unknown time zone"):
        timezone_name(name)


def test_messages_quote_huge_values_briefly():
    assert len(shown("x" * 10**6)) <= 60
    assert len(shown(list(range(10**6)))) <= 60
    with pytest.raises(ValueError) as info:
        slug("y" * 10**6)
    assert len(str(info.value)) < 200
