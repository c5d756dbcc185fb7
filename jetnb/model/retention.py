"""``retention:`` in ``%%workflow``: how many ended runs to keep, and for how long, per status.

```yaml
retention:
  keep_last: 100          # the newest 100 ended runs (those without a section of their own) stay
  max_age: 30d            # and none older than 30 days
  failed: {keep_last: 500}  # failed runs: a policy of their own (here: the newest 500, any age)
```

A run goes when it is beyond ``keep_last`` **or** older than ``max_age``
(counted from when it ended). A status section (``succeeded``, ``failed``,
``interrupted``, ``cancelled``) is a whole policy for runs of that status,
counted among themselves; it inherits nothing, so a policy never depends on
reading two places. Runs that are queued, running or waiting are never
pruned, whatever the policy. The value stays a plain mapping in the config
(the API shows it); ``RetentionPolicy.from_config`` reads it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..fields import Field, Schema, duration, mapping, validate, whole
from ..protocol import RunStatus

PRUNABLE = tuple(s.value for s in RunStatus if s.final)  # succeeded, failed, interrupted, cancelled; never an active run


@dataclass(frozen=True)
class Rule:
    """Keep at most ``keep_last`` runs, none older than ``max_age`` seconds; None is no limit."""

    keep_last: int | None = None
    max_age: float | None = None

    @property
    def limits(self) -> bool:
        return self.keep_last is not None or self.max_age is not None

    def describe(self) -> str:
        parts = [f"keep the last {self.keep_last}" if self.keep_last is not None else "",
                 f"at most {self.max_age / 86400:g} days old" if self.max_age is not None else ""]
        return ", ".join(p for p in parts if p) or "keep all"


@dataclass(frozen=True)
class RetentionPolicy:
    """``default`` covers the final statuses without a rule of their own in ``by_status``."""

    default: Rule = field(default_factory=Rule)
    by_status: dict[str, Rule] = field(default_factory=dict)

    def groups(self) -> list[tuple[tuple[str, ...], Rule]]:
        """Statuses counted together, each group with its rule (groups without a limit left out)."""
        rest = tuple(s for s in PRUNABLE if s not in self.by_status)
        found = [((status,), rule) for status, rule in self.by_status.items()]
        if rest:
            found.insert(0, (rest, self.default))
        return [(statuses, rule) for statuses, rule in found if rule.limits]

    @classmethod
    def from_config(cls, value: dict[str, Any] | None) -> RetentionPolicy | None:
        """The policy a validated ``retention`` value states, or None when the workflow has none."""
        if not value:
            return None
        return cls(_rule(value), {s: _rule(value[s]) for s in PRUNABLE if value.get(s) is not None})


def _rule(values: dict[str, Any]) -> Rule:
    return Rule(values.get("keep_last"), values.get("max_age"))


RULE: Schema = {
    "keep_last": Field(whole(0), help="keep the newest N ended runs"),
    "max_age": Field(duration, help="remove ended runs older than this (e.g. 30d)"),
}


def _rule_value(value: Any) -> dict[str, Any]:
    return _checked(value, RULE)


def retention(value: Any) -> dict[str, Any]:
    """The ``retention`` key: a rule, and optionally a rule per final status; ValueError lists every problem."""
    return _checked(value, {**RULE, **{status: Field(_rule_value, help=f"a rule for {status} runs")
                                       for status in PRUNABLE}})


def _checked(value: Any, schema: Schema) -> dict[str, Any]:
    problems: list[str] = []
    checked = validate(mapping(value), schema, "", problems)
    if problems:
        raise ValueError("; ".join(problems))
    return {key: item for key, item in checked.items() if item is not None}
