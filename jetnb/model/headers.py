"""The first line of a jetnb cell: ``%%step NAME [options]``, ``%%handler NAME``, ``%%result``, ``%%workflow``.

One parser serves both the kernel (which runs the header) and ``jetnb check``
(which only reads it), so the two can never disagree about what a header means.
"""

from __future__ import annotations

import ast
import re
import shlex
from dataclasses import dataclass, field
from typing import Any, Callable

from ..durations import parse_duration
from ..fields import choice

MAGICS = ("workflow", "step", "handler", "result")
NAME_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
USER_RE = re.compile(r"^[\w.@-]+$")


class HeaderError(ValueError):
    """A header line that cannot be understood; the message says which part, ``name`` the step if it was read."""

    def __init__(self, message: str, name: str | None = None):
        super().__init__(message)
        self.name = name


def _expression(text: str) -> str:
    try:
        ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"invalid Python expression {text!r}: {exc.msg}") from None
    return text.strip()


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ValueError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise ValueError(f"expected a number >= 0, got {value}")
    return value


def _positive(text: str) -> int:
    value = _count(text)
    if value < 1:
        raise ValueError(f"expected a number >= 1, got {value}")
    return value


def _factor(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"expected a number, got {text!r}") from None
    if value < 1:
        raise ValueError(f"expected a number >= 1, got {value}")
    return value


def _name(text: str) -> str:
    if not NAME_RE.match(text):
        raise ValueError(f"{text!r} is not a valid name (letters, digits, _ and -)")
    return text


def _identifier(text: str) -> str:
    if not text.isidentifier():
        raise ValueError(f"{text!r} is not a valid Python name")
    return text


def _exception_names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names or not all(all(piece.isidentifier() for piece in n.split(".")) for n in names):
        raise ValueError(f"expected exception class names separated by commas, got {text!r}")
    return names


def _approvers(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("expected a user, a comma-separated list of users, or an approver group")
    for name in names:
        if not USER_RE.match(name):
            raise ValueError(f"{name!r} is not a valid user or group name (letters, digits, '.', '@', '_', '-')")
    return names


def _seconds(text: str) -> float:
    return parse_duration(text)


def _handler_ref(text: str) -> str:
    if text.endswith(".ipynb"):
        return text
    return _name(text)


@dataclass(frozen=True)
class Option:
    """One ``--flag``; ``convert=None`` makes it a switch that takes no value."""

    flag: str
    convert: Callable[[str], Any] | None
    help: str
    metavar: str = "VALUE"

    @property
    def dest(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


STEP_OPTIONS: tuple[Option, ...] = (
    Option("--when", _expression, "run the step only when this Python expression is true", "EXPR"),
    Option("--retries", _count, "attempts after the first one before the step fails", "N"),
    Option("--backoff", _seconds, "wait before the first retry (default 1s)", "SECONDS"),
    Option("--backoff-factor", _factor, "multiply the wait by this after each retry (default 2)", "F"),
    Option("--retry-on", _exception_names, "retry only these exception types (and subclasses)", "NAMES"),
    Option("--timeout", _seconds, "fail an attempt (or an item) that runs longer than this", "SECONDS"),
    Option("--continue-on-error", None, "record the failure and go on with the next step"),
    Option("--on-error", _handler_ref, "handler (or .ipynb) to run when the step fails", "HANDLER"),
    Option("--on-success", _handler_ref, "handler (or .ipynb) to run when the step succeeds", "HANDLER"),
    Option("--for-each", _expression, "run the body once per item of this iterable", "EXPR"),
    Option("--as", _identifier, "the name each item is bound to (default: item)", "NAME"),
    Option("--parallel", _positive, "run at most N items at once (threads)", "N"),
    Option("--skip-failures", None, "failed items do not fail the step"),
    Option("--delay", _seconds, "wait this long before the step starts", "SECONDS"),
    Option("--approve", _approvers, "people or approver groups, one of whom must approve before the step runs",
           "WHO"),
    Option("--message", str, "what the approver is asked; {names} are filled from the notebook", "TEXT"),
    Option("--approval-timeout", _seconds, "how long the request stays open", "DURATION"),
    Option("--on-timeout", choice("reject", "approve", "fail"), "what an unanswered request means (default reject)",
           "POLICY"),
    Option("--on-reject", choice("skip", "fail"), "skip the step (default) or fail the run when rejected", "POLICY"),
    Option("--idempotent", None, "safe to run again: on resume, re-execute instead of restoring from the journal"),
)
GATE_ONLY = ("message", "approval_timeout", "on_timeout", "on_reject")
ITERATOR_ONLY = ("as", "parallel", "skip_failures")
RETRY_ONLY = ("backoff", "backoff_factor", "retry_on")

OPTIONS: dict[str, tuple[Option, ...]] = {
    "workflow": (),
    "step": STEP_OPTIONS,
    "handler": (),
    "result": (),
}
TAKES_NAME = {"step": True, "handler": True, "workflow": False, "result": False}


@dataclass
class Header:
    """A parsed header: which magic, the cell's name (if any) and its options."""

    kind: str
    name: str | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


def split_cell(source: str) -> tuple[str, str, str] | None:
    """Return ``(kind, argument line, body)`` when the cell starts with a jetnb magic."""
    first, _, body = source.lstrip("\n").partition("\n")
    match = re.match(r"^%%(\w+)\b(.*)$", first.rstrip())
    if not match or match.group(1) not in MAGICS:
        return None
    return match.group(1), match.group(2).strip(), body


def parse_header(kind: str, line: str) -> Header:
    """Parse the argument line of a ``%%kind`` magic; raises HeaderError with the reason."""
    try:
        words = shlex.split(line, posix=True)
    except ValueError as exc:
        raise HeaderError(f"%%{kind}: cannot split the header line ({exc})") from None
    header = Header(kind)
    if TAKES_NAME[kind]:
        if not words or words[0].startswith("--"):
            raise HeaderError(f"%%{kind} needs a name, e.g. %%{kind} fetch_order")
        try:
            header.name = _name(words.pop(0))
        except ValueError as exc:
            raise HeaderError(f"%%{kind}: {exc}") from None
    try:
        _parse_options(header, words)
    except HeaderError as exc:
        raise HeaderError(str(exc), header.name) from None
    return header


def _parse_options(header: Header, words: list[str]) -> None:
    kind = header.kind
    known = {opt.flag: opt for opt in OPTIONS[kind]}
    while words:
        word = words.pop(0)
        flag, eq, inline = word.partition("=")
        option = known.get(flag)
        if option is None:
            hint = _suggest(flag, known)
            where = f"%%{kind} {header.name}" if header.name else f"%%{kind}"
            if not flag.startswith("--"):
                raise HeaderError(f"{where}: unexpected argument {word!r}")
            raise HeaderError(f"{where}: unknown option {flag}{hint}")
        if header.options.get(option.dest) is not None:
            raise HeaderError(f"%%{kind} {header.name}: {flag} given twice")
        if option.convert is None:
            if eq:
                raise HeaderError(f"%%{kind} {header.name}: {flag} takes no value")
            header.options[option.dest] = True
            continue
        if eq:
            raw = inline
        elif words:
            raw = words.pop(0)
        else:
            raise HeaderError(f"%%{kind} {header.name}: {flag} needs a value ({option.metavar})")
        try:
            header.options[option.dest] = option.convert(raw)
        except ValueError as exc:
            raise HeaderError(f"%%{kind} {header.name}: {flag}: {exc}") from None
    _check_combinations(header)


def _check_combinations(header: Header) -> None:
    """Options that only mean something together with another one."""
    where = f"%%{header.kind} {header.name}"
    for dest in ITERATOR_ONLY:
        if dest in header.options and "for_each" not in header.options:
            raise HeaderError(f"{where}: --{dest.replace('_', '-')} needs --for-each")
    for dest in GATE_ONLY:
        if dest in header.options and "approve" not in header.options:
            raise HeaderError(f"{where}: --{dest.replace('_', '-')} needs --approve WHO")
    if "approve" in header.options and "for_each" in header.options:
        raise HeaderError(f"{where}: an approval gate cannot be an iterator (put the gate on its own step)")
    for dest in RETRY_ONLY:
        if dest in header.options and not header.options.get("retries"):
            raise HeaderError(f"{where}: --{dest.replace('_', '-')} needs --retries N (N >= 1)")


def _suggest(flag: str, known: dict[str, Option]) -> str:
    import difflib

    close = difflib.get_close_matches(flag, list(known), n=1)
    if close:
        return f" (did you mean {close[0]}?)"
    if known:
        return f" (known: {', '.join(sorted(known))})"
    return " (this header takes no options)"


__all__ = ["Header", "HeaderError", "Option", "OPTIONS", "parse_header", "split_cell"]
