"""The ``%%workflow`` cell: its YAML keys, their types and defaults, validated without running anything.

The schema is a table of ``Field``s so the validator, the docs and error
messages all come from one place; every problem names its path
(``triggers[1].schedule.cron``).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable

from ..durations import parse_duration
from .headers import NAME_RE, choice

Check = Callable[[Any], Any]
SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Field:
    check: Check
    required: bool = False
    default: Any = None
    help: str = ""


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected text, got {type(value).__name__}")
    return value


def _slug(value: Any) -> str:
    if not isinstance(value, str) or not SLUG_RE.match(value):
        raise ValueError(f"{value!r} is not a valid name (letters, digits, '.', '_' and '-'; no spaces)")
    return value


def _int(minimum: int) -> Check:
    def check(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {value!r}")
        if value < minimum:
            raise ValueError(f"expected a number >= {minimum}, got {value}")
        return value

    return check


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {value!r}")
    return value


def _duration(value: Any) -> float:
    seconds = parse_duration(value)
    if seconds <= 0:
        raise ValueError("must be longer than 0s")
    return seconds


def _mapping(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValueError(f"expected a mapping, got {type(value).__name__}")
    return value


def _cron(value: Any) -> str:
    from croniter import croniter

    text = _str(value)
    if not croniter.is_valid(text):
        raise ValueError(f"invalid cron expression {text!r}")
    return text


def _timezone(value: Any) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    text = _str(value)
    try:
        ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {text!r} (use an IANA name such as Europe/Paris)") from None
    return text


def _instant(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    text = _str(value)
    try:
        datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"not an ISO-8601 date-time: {text!r}") from None
    return text


def _size(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    match = re.fullmatch(r"\s*(\d+)\s*(B|KiB|MiB|KB|MB)?\s*", str(value))
    if not match:
        raise ValueError(f"expected a size such as 1048576 or 1MiB, got {value!r}")
    unit = {"B": 1, None: 1, "KB": 1000, "MB": 1000**2, "KiB": 1024, "MiB": 1024**2}[match.group(2)]
    return int(match.group(1)) * unit


def _handler_ref(value: Any) -> str:
    text = _str(value)
    if not text.endswith(".ipynb") and not NAME_RE.match(text):
        raise ValueError(f"{text!r} is neither a %%handler name nor a .ipynb path")
    return text


def _users(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise ValueError("expected a list of user names")
    return value


def _on_kinds(value: Any) -> list[str]:
    kinds = value if isinstance(value, list) else [value]
    for kind in kinds:
        if kind not in ("created", "updated", "deleted"):
            raise ValueError(f"expected created, updated and/or deleted, got {kind!r}")
    return kinds


def _keys(value: Any) -> list[str]:
    keys = value if isinstance(value, list) else [value]
    if not keys or not all(isinstance(k, str) and k for k in keys):
        raise ValueError("expected a column name or a list of them")
    return keys


Schema = dict[str, Field]

SOURCE: Schema = {
    "sqlite": Field(_str, help="path of a SQLite file (with `query`)"),
    "query": Field(_str, help="SQL query whose rows are watched"),
    "file": Field(_str, help="path of a CSV or JSON file (a list of records)"),
    "url": Field(_str, help="HTTP(S) URL returning a JSON list of records"),
    "headers": Field(_mapping, default={}, help="extra HTTP headers for `url`"),
}

TRIGGERS: dict[str, Schema] = {
    "schedule": {
        "cron": Field(_cron, required=True, help="cron expression, 5 fields"),
        "timezone": Field(_timezone, default="UTC", help="IANA time zone the cron is read in"),
        "params": Field(_mapping, default={}, help="parameters for each run"),
    },
    "interval": {
        "every": Field(_duration, required=True, help="e.g. 30s, 15m, 1h"),
        "params": Field(_mapping, default={}),
    },
    "once": {
        "at": Field(_instant, required=True, help="ISO-8601 date-time; without offset read in `timezone`"),
        "timezone": Field(_timezone, default="UTC"),
        "params": Field(_mapping, default={}),
    },
    "webhook": {
        "name": Field(_slug, required=True, help="served at POST /hooks/<name>"),
        "auth": Field(choice("hmac", "token", "none"), required=True, help="hmac, token, or none (explicitly)"),
        "secret_env": Field(_str, help="environment variable holding the secret (hmac, token)"),
        "signature_header": Field(_str, default="X-Hub-Signature-256"),
        "delivery_header": Field(_str, help="header carrying the sender's delivery id"),
        "response": Field(choice("async", "sync"), default="async"),
        "timeout": Field(_duration, default=30.0, help="how long a sync hook waits for the result"),
        "max_body": Field(_size, default=1024 * 1024),
        "params": Field(_mapping, default={}),
    },
    "data_change": {
        "source": Field(_mapping, required=True, help="sqlite+query, file or url"),
        "key": Field(_keys, default=["id"], help="column(s) identifying a record"),
        "every": Field(_duration, default=60.0),
        "on": Field(_on_kinds, default=["created", "updated", "deleted"]),
        "batch": Field(_bool, default=False),
        "params": Field(_mapping, default={}),
    },
}

WORKFLOW: Schema = {
    "name": Field(_slug, help="defaults to the notebook's file name"),
    "description": Field(_str, default=""),
    "triggers": Field(list, default=[]),
    "approvers": Field(_mapping, default={}, help="group name -> list of users"),
    "concurrency": Field(_int(1), default=1, help="runs of this workflow at once"),
    "timeout": Field(_duration, help="bound on the whole run"),
    "on_error": Field(_handler_ref, help="handler or notebook run when the run fails"),
    "on_success": Field(_handler_ref, help="handler or notebook run when the run succeeds"),
    "on_pause": Field(_handler_ref, help="handler or notebook run when the workflow is paused"),
    "pause_after_failures": Field(_int(0), default=5, help="0 never pauses"),
    "catchup": Field(choice("none", "latest", "all"), default="latest"),
    "catchup_limit": Field(_int(1), default=10, help="most missed ticks run with catchup: all"),
    "overlap": Field(choice("skip", "queue", "allow"), default="skip"),
    "allow_self_approval": Field(_bool, default=True),
    "kernel": Field(_str, help="kernel name; defaults to the notebook's"),
    "tags": Field(_users, default=[], help="free labels"),
}


@dataclass
class WorkflowConfig:
    """The validated ``%%workflow`` mapping, every key filled with its default."""

    values: dict[str, Any] = field(default_factory=dict)

    def __getattr__(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise AttributeError(key) from None

    @property
    def triggers(self) -> list[tuple[str, dict[str, Any]]]:
        return self.values.get("triggers", [])


def _validate(mapping: Any, schema: Schema, path: str, problems: list[str]) -> dict[str, Any]:
    if not isinstance(mapping, dict):
        problems.append(f"{path or 'the %%workflow cell'}: expected a mapping of keys, got {type(mapping).__name__}")
        return {}
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        if key is True and "on" in schema:
            key = "on"  # YAML 1.1 reads a bare `on:` key as the boolean true
        where = f"{path}.{key}" if path else str(key)
        spec = schema.get(key)
        if spec is None:
            close = difflib.get_close_matches(str(key), list(schema), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(schema)})"
            problems.append(f"{where}: unknown key{hint}")
            continue
        try:
            out[key] = spec.check(value)
        except (ValueError, TypeError) as exc:
            problems.append(f"{where}: {exc}")
    for key, spec in schema.items():
        if key not in out and not any(p.startswith(f"{path}.{key}:" if path else f"{key}:") for p in problems):
            if spec.required:
                problems.append(f"{path + '.' if path else ''}{key}: required")
            else:
                out[key] = spec.default
    return out


def _validate_trigger(item: Any, index: int, problems: list[str]) -> tuple[str, dict[str, Any]] | None:
    where = f"triggers[{index}]"
    if not isinstance(item, dict) or len(item) != 1:
        problems.append(f"{where}: each trigger is a mapping with one key: {', '.join(TRIGGERS)}")
        return None
    (kind, body), = item.items()
    if kind not in TRIGGERS:
        close = difflib.get_close_matches(str(kind), list(TRIGGERS), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(TRIGGERS)})"
        problems.append(f"{where}: unknown trigger {kind!r}{hint}")
        return None
    spec = _validate(body if body is not None else {}, TRIGGERS[kind], f"{where}.{kind}", problems)
    if kind == "webhook" and spec.get("auth") in ("hmac", "token") and not spec.get("secret_env"):
        problems.append(f"{where}.webhook.secret_env: required with auth: {spec['auth']}")
    if kind == "data_change" and "source" in spec:
        source = _validate(spec["source"], SOURCE, f"{where}.data_change.source", problems)
        kinds = [k for k in ("sqlite", "file", "url") if source.get(k)]
        if len(kinds) != 1:
            problems.append(f"{where}.data_change.source: give exactly one of sqlite (with query), file or url")
        elif kinds == ["sqlite"] and not source.get("query"):
            problems.append(f"{where}.data_change.source.query: required with sqlite")
        spec["source"] = source
    return kind, spec


def parse_workflow_config(text: str) -> tuple[WorkflowConfig, list[str]]:
    """Parse the YAML body of a ``%%workflow`` cell; returns the config and every problem found."""
    import yaml

    problems: list[str] = []
    try:
        raw = yaml.safe_load(text) if text.strip() else {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        reason = getattr(exc, "problem", None) or str(exc)
        return WorkflowConfig(), [f"invalid YAML: {where}{reason}"]
    values = _validate(raw if raw is not None else {}, WORKFLOW, "", problems)
    triggers = values.get("triggers") or []
    if not isinstance(triggers, list):
        problems.append("triggers: expected a list")
        triggers = []
    values["triggers"] = [t for i, item in enumerate(triggers) if (t := _validate_trigger(item, i, problems))]
    approvers = values.get("approvers") or {}
    for group, users in approvers.items():
        try:
            approvers[group] = _users(users)
        except ValueError as exc:
            problems.append(f"approvers.{group}: {exc}")
    hooks = [spec["name"] for kind, spec in values["triggers"] if kind == "webhook" and "name" in spec]
    for dup in sorted({h for h in hooks if hooks.count(h) > 1}):
        problems.append(f"triggers: webhook name {dup!r} is used twice")
    return WorkflowConfig(values), problems
