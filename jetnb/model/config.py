"""The ``%%workflow`` cell: its YAML keys, their types and defaults, validated without running anything.

The workflow's own keys are the ``WORKFLOW`` table; each trigger is checked
against its kind's schema from the trigger registry (``jetnb.triggers``), so
a kind added by a plug-in is validated like a built-in one.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from ..fields import Field, Schema, boolean, choice, duration, key_label, mapping, names, size, slug, text, validate, whole
from ..quoting import shown
from ..secrets.names import secret_names
from ..triggers.registry import UnknownTrigger, kind, kinds
from .datatext import TextError, load_yaml
from .reactions import action_list, check_reactions, named_actions, reaction
from .retention import retention


def users_list(value: Any) -> list[str]:
    try:
        return names(value)
    except ValueError:
        raise ValueError("expected a list of user names") from None


WORKFLOW: Schema = {
    "name": Field(slug, help="defaults to the notebook's file name"),
    "description": Field(text, default=""),
    "triggers": Field(list, default=[]),
    "approvers": Field(mapping, default={}, help="group name -> list of users"),
    "concurrency": Field(whole(1), default=1, help="runs of this workflow at once"),
    "timeout": Field(duration, help="bound on the whole run"),
    "on_error": Field(reaction, help="handler, notebook or actions when the run fails"),
    "on_success": Field(reaction, help="handler, notebook or actions when the run succeeds"),
    "on_pause": Field(reaction, help="handler, notebook or actions when the workflow is paused"),
    "notify_approvers": Field(action_list, help="actions when a gate asks for a decision"),
    "actions": Field(named_actions, default={}, help="named actions for the steps' --on-error-action"),
    "pause_after_failures": Field(whole(0), default=5, help="0 never pauses"),
    "catchup": Field(choice("none", "latest", "all"), default="latest"),
    "catchup_limit": Field(whole(1), default=10, help="most missed ticks run with catchup: all"),
    "overlap": Field(choice("skip", "queue", "allow"), default="skip"),
    "allow_self_approval": Field(boolean, default=True),
    "kernel": Field(text, help="kernel name; defaults to the notebook's"),
    "tags": Field(names, default=[], help="free labels"),
    "retention": Field(retention, help="ended runs to keep: keep_last, max_age, per-status rules (model/retention.py)"),
    "secrets": Field(secret_names, default=[], help="secrets the workflow reads with jetnb.secret(NAME)"),
    "artifacts_max_bytes": Field(size, help="all of a run's jetnb.artifact files together (default 100MiB)"),
    "retries_on_worker_lost": Field(whole(0), default=0, help="times a run whose Dask worker died is started again"),
}


@dataclass
class WorkflowConfig:
    """The validated ``%%workflow`` mapping, every key filled with its default."""

    values: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, key: str) -> Any:
        try:
            return self.__dict__["values"][key]  # not self.values: absent while pickle restores the object
        except KeyError:
            raise AttributeError(key) from None

    @property
    def triggers(self) -> list[tuple[str, dict[str, Any]]]:
        return self.values.get("triggers", [])


def _validate_trigger(item: Any, index: int, problems: list[str]) -> tuple[str, dict[str, Any]] | None:
    where = f"triggers[{index}]"
    if not isinstance(item, dict) or len(item) != 1:
        problems.append(f"{where}: each trigger is a mapping with one key, the trigger kind "
                        f"({', '.join(sorted(kinds()))})")
        return None
    (name, body), = item.items()
    try:
        trigger = kind(str(name))
    except UnknownTrigger as exc:
        close = difflib.get_close_matches(str(name), list(kinds()), n=1)
        problems.append(f"{where}: unknown trigger {shown(name)} (did you mean {close[0]!r}?)" if close
                        else f"{where}: {exc}")
        return None
    at = f"{where}.{name}"
    spec = validate(body if body is not None else {}, trigger.schema, at, problems)
    trigger.check(spec, at, problems)
    return str(name), spec


def parse_workflow_config(body: str) -> tuple[WorkflowConfig, list[str]]:
    """Parse the YAML body of a ``%%workflow`` cell; returns the config and every problem found."""
    problems: list[str] = []
    try:
        raw = load_yaml(body) if body.strip() else {}
    except TextError as exc:
        return WorkflowConfig(), [f"invalid YAML: {exc}"]
    values = validate(raw if raw is not None else {}, WORKFLOW, "", problems)
    check_reactions(values, problems)
    triggers = values.get("triggers") or []
    if not isinstance(triggers, list):
        problems.append("triggers: expected a list")
        triggers = []
    values["triggers"] = [t for i, item in enumerate(triggers) if (t := _validate_trigger(item, i, problems))]
    approvers = values.get("approvers") or {}
    for group, users in approvers.items():
        try:
            approvers[group] = users_list(users)
        except ValueError as exc:
            problems.append(f"approvers.{key_label(group)}: {exc}")
    routes = [spec["name"] for name, spec in values["triggers"] if kind(name).family == "push" and "name" in spec]
    for dup in sorted({r for r in routes if routes.count(r) > 1}):
        problems.append(f"triggers: webhook name {dup!r} is used twice")
    return WorkflowConfig(values), problems
