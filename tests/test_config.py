from __future__ import annotations

import pytest

from jetnb.model.config import parse_workflow_config


def test_defaults_fill_every_key():
    config, problems = parse_workflow_config("name: refund-order\n")
    assert problems == []
    assert config.name == "refund-order"
    assert config.concurrency == 1 and config.pause_after_failures == 5 and config.catchup == "latest"
    assert config.triggers == []


def test_triggers_are_validated_and_defaulted():
    config, problems = parse_workflow_config(
        "triggers:\n"
        "  - schedule: {cron: '0 9 * * MON-FRI', timezone: Europe/Paris}\n"
        "  - interval: {every: 15m}\n"
        "  - once: {at: '2026-12-01T09:00:00'}\n"
        "  - webhook: {name: refund, auth: hmac, secret_env: REFUND_SECRET}\n"
        "  - data_change: {source: {sqlite: shop.db, query: 'select * from orders'}, key: id, every: 30s}\n"
    )
    assert problems == []
    kinds = [kind for kind, _ in config.triggers]
    assert kinds == ["schedule", "interval", "once", "webhook", "data_change"]
    assert config.triggers[1][1]["every"] == 900
    assert config.triggers[3][1]["response"] == "async" and config.triggers[3][1]["max_body"] == 1024 * 1024
    assert config.triggers[4][1]["key"] == ["id"] and config.triggers[4][1]["every"] == 30


@pytest.mark.parametrize("text,message", [
    ("name: [1", "invalid YAML: line 1"),
    ("- a\n- b", "expected a mapping of keys"),
    ("concurency: 2", "concurency: unknown key (did you mean 'concurrency'?)"),
    ("name: two words", "not a valid name"),
    ("timeout: soon", "timeout: not a duration"),
    ("concurrency: 0", "concurrency: expected a number >= 1"),
    ("triggers:\n  - shedule: {cron: '* * * * *'}", "triggers[0]: unknown trigger 'shedule' (did you mean 'schedule'?)"),
    ("triggers:\n  - schedule: {cron: '61 * * * *'}", "triggers[0].schedule.cron: invalid cron expression"),
    ("triggers:\n  - schedule: {cron: '* * * * *', timezone: Mars/Olympus}", "unknown time zone 'Mars/Olympus'"),
    ("triggers:\n  - schedule: {timezone: UTC}", "triggers[0].schedule.cron: required"),
    ("triggers:\n  - webhook: {name: x}", "triggers[0].webhook.auth: required"),
    ("triggers:\n  - webhook: {name: x, auth: hmac}", "secret_env: required with auth: hmac"),
    ("triggers:\n  - once: {at: tomorrow}", "not an ISO-8601 date-time"),
    ("triggers:\n  - data_change: {source: {file: a.csv, url: 'http://x'}}", "exactly one of"),
    ("triggers:\n  - {schedule: {cron: '* * * * *'}, interval: {every: 1m}}", "mapping with one key"),
    ("approvers:\n  managers: 5", "approvers.managers: expected a list of user names"),
])
def test_problems_name_the_field(text, message):
    _, problems = parse_workflow_config(text)
    assert any(message in p for p in problems), problems


def test_all_problems_are_collected():
    _, problems = parse_workflow_config("concurency: 2\ntimeout: soon\ntriggers:\n  - webhok: {}\n")
    assert len(problems) == 3


def test_a_bare_on_key_is_not_read_as_true():
    config, problems = parse_workflow_config(
        "triggers:\n  - data_change: {source: {file: a.csv}, on: [created]}\n")
    assert problems == []
    assert config.triggers[0][1]["on"] == ["created"]


@pytest.mark.parametrize("text,message", [
    ("name: \"refund\\n\"", "name: 'refund\\n' is not a valid name"),
    ("name: " + "x" * 101, "not a valid name (up to 100"),
    ("timeout: .nan", "timeout: a duration must be a finite number"),
    ("timeout: .inf", "timeout: a duration must be a finite number"),
    ("timeout: 400d", "timeout: a duration cannot be longer than 366 days"),
    ("timeout: " + "9" * 5000, "a number of more than 100 characters"),
    ("on_error: \"fix\\n\"", "on_error: 'fix\\n' is neither a %%handler name nor a .ipynb path"),
    ("triggers:\n  - webhook: {name: x, auth: none, max_body: 0}", "triggers[0].webhook.max_body: must be at least 1 byte"),
    ("triggers:\n  - interval: {every: .nan}", "triggers[0].interval.every: a duration must be a finite number"),
    ("triggers:\n  - schedule: {cron: '0 0 30 2 *'}", "cron expression '0 0 30 2 *' never fires"),
    ("triggers:\n  - schedule: {cron: '0 0 * * * *'}", "expected 5 fields"),
    ("triggers:\n  - schedule: {cron: '0 0 * * * * 2030'}", "expected 5 fields"),
    ("triggers:\n  - once: {at: 2026-02-30}", "not a valid date"),
    ("a: &x 1\nname: *x", "YAML anchors (&x) are not allowed"),
    ("name: *x", "YAML aliases (*x) are not allowed"),
    ("tags: " + "[" * 70 + "]" * 70, "nested deeper than 64 levels"),
    ("x: !!int", "invalid YAML: cannot read a value"),
    ("x: !!timestamp soon", "invalid YAML: line 1: not a valid date 'soon'"),
    ("x: !!float x", "invalid YAML: cannot read a value"),
])
def test_hostile_and_impossible_values_are_problems(text, message):
    _, problems = parse_workflow_config(text)
    assert any(message in p for p in problems), problems


def test_a_config_survives_pickling():
    """A workflow's model travels to other processes (a Dask worker, a process pool): its config must unpickle
    (its attribute look-up once recursed forever while pickle restored it)."""
    import pickle

    config, problems = parse_workflow_config("name: x\ntriggers:\n  - schedule: {cron: '0 6 * * *'}\n")
    assert not problems
    again = pickle.loads(pickle.dumps(config))
    assert again == config and again.overlap == "skip" and again.triggers == config.triggers
