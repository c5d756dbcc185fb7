"""The first line of a jetnb cell: ``%%step NAME [options]``, ``%%handler NAME``, ``%%result``, ``%%workflow``.

One parser serves both the kernel (which runs the header) and ``jetnb check``
(which only reads it), so the two can never disagree about what a header means.
"""

from __future__ import annotations

import ast
import re
import shlex
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

from ..durations import parse_duration
from ..fields import MAX_NAME, choice, finite
from ..quoting import clipped, shown

MAGICS = ("workflow", "step", "handler", "result")
NAME_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
USER_RE = re.compile(r"[\w.@-]+")
MAX_HEADER_CHARS = 10_000  # shlex reads ~200 kB a second; an approval --message fits many times over


class HeaderError(ValueError):
    """A header line that cannot be understood: ``problems`` has one line per wrong part, ``name`` the step if read."""

    def __init__(self, problems: list[str], name: str | None = None):
        super().__init__("; ".join(problems))
        self.problems = problems
        self.name = name


def _expression(text: str) -> str:
    try:
        with warnings.catch_warnings():  # SyntaxWarnings are the kernel's to show, when the guard runs
            warnings.simplefilter("ignore")
            ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError) as exc:  # ValueError: a NUL byte, on some Pythons
        raise ValueError(f"invalid Python expression {shown(text)}: {getattr(exc, 'msg', exc)}") from None
    except (RecursionError, MemoryError):
        raise ValueError(f"invalid Python expression {shown(text)}: nested too deeply") from None
    return text.strip()


def _count(text: str) -> int:
    if not re.fullmatch(r"[+-]?[0-9]{1,18}", text.strip()):
        raise ValueError(f"expected a whole number, got {shown(text)}")
    value = int(text)
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
        value = finite(float(text))
    except ValueError:
        raise ValueError(f"expected a finite number, got {shown(text)}") from None
    if value < 1:
        raise ValueError(f"expected a number >= 1, got {value}")
    return value


def step_name(text: str) -> str:
    """A step or handler name: a letter or ``_`` then letters, digits, ``_``, ``-``; at most ``MAX_NAME`` long."""
    if not NAME_RE.fullmatch(text) or len(text) > MAX_NAME:
        raise ValueError(f"{shown(text)} is not a valid name (up to {MAX_NAME} letters, digits, _ and -)")
    return text


def _identifier(text: str) -> str:
    if not text.isidentifier():
        raise ValueError(f"{shown(text)} is not a valid Python name")
    return text


def _exception_names(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names or not all(all(piece.isidentifier() for piece in n.split(".")) for n in names):
        raise ValueError(f"expected exception class names separated by commas, got {shown(text)}")
    return names


def _approvers(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("expected a user, a comma-separated list of users, or an approver group")
    for name in names:
        if not USER_RE.fullmatch(name):
            raise ValueError(f"{shown(name)} is not a valid user or group name (letters, digits, '.', '@', '_', '-')")
    return names


def _seconds(text: str) -> float:
    return parse_duration(text)


def _handler_ref(text: str) -> str:
    if text.endswith(".ipynb"):
        return text
    return step_name(text)


def _action_names(text: str) -> list[str]:
    """``--on-error-action page_ops,log_it``: names of ``actions:`` blocks of ``%%workflow``."""
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise ValueError("expected names of actions declared under actions: in %%workflow, separated by commas")
    return [step_name(name) for name in names]


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
    Option("--on-error-action", _action_names, "actions named under actions: in %%workflow to call when the step "
           "fails", "NAMES"),
    Option("--on-success-action", _action_names, "actions named under actions: in %%workflow to call when the "
           "step succeeds", "NAMES"),
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

    @property
    def where(self) -> str:
        """How messages name the header: ``%%step fetch``, or ``%%step`` before its name is known."""
        return f"%%{self.kind} {self.name}" if self.name else f"%%{self.kind}"


def split_cell(source: str) -> tuple[str, str, str] | None:
    """Return ``(kind, argument line, body)`` when the cell starts with a jetnb magic."""
    first, _, body = source.lstrip("\n").partition("\n")
    match = re.match(r"^%%(\w+)\b(.*)$", first.rstrip())
    if not match or match.group(1) not in MAGICS:
        return None
    return match.group(1), match.group(2).strip(), body


def parse_header(kind: str, line: str) -> Header:
    """Parse the argument line of a ``%%kind`` magic; HeaderError lists every problem of the line."""
    if len(line) > MAX_HEADER_CHARS:
        raise HeaderError([f"%%{kind}: the header line is longer than {MAX_HEADER_CHARS} characters"])
    try:
        words = shlex.split(line, posix=True)
    except ValueError as exc:
        raise HeaderError([f"%%{kind}: cannot split the header line ({exc})"]) from None
    header = Header(kind)
    problems: list[str] = []
    if TAKES_NAME[kind]:
        if not words or words[0].startswith("--"):
            problems.append(f"%%{kind} needs a name, e.g. %%{kind} fetch_order")
        else:
            try:
                header.name = step_name(words.pop(0))
            except ValueError as exc:
                problems.append(f"%%{kind}: {exc}")
    refused: set[str] = set()
    problems += _parse_options(header, words, refused)
    problems += _check_combinations(header, refused)
    if problems:
        raise HeaderError(problems, header.name)
    return header


def _parse_options(header: Header, words: list[str], refused: set[str]) -> list[str]:
    """Fill ``header.options`` (and ``refused`` with options given a bad value); one problem per wrong option."""
    where = header.where
    known = {opt.flag: opt for opt in OPTIONS[header.kind]}
    problems: list[str] = []
    while words:
        word = words.pop(0)
        flag, eq, inline = word.partition("=")
        option = known.get(flag)
        if option is None:
            if not flag.startswith("--"):
                problems.append(f"{where}: unexpected argument {shown(word)}")
                continue
            problems.append(f"{where}: unknown option {clipped(flag)}{_suggest(flag, known)}")
            if not eq and words and not words[0].startswith("--"):
                words.pop(0)  # its value: one unknown option is one problem
            continue
        if option.dest in header.options or option.dest in refused:
            problems.append(f"{where}: {flag} given twice")
        if option.convert is None:
            if eq:
                problems.append(f"{where}: {flag} takes no value")
            header.options[option.dest] = True
            continue
        if eq:
            raw = inline
        elif words:
            raw = words.pop(0)
        else:
            problems.append(f"{where}: {flag} needs a value ({option.metavar})")
            continue
        try:
            header.options[option.dest] = option.convert(raw)
        except ValueError as exc:
            problems.append(f"{where}: {flag}: {exc}")
            refused.add(option.dest)
    return problems


def _check_combinations(header: Header, refused: set[str]) -> list[str]:
    """Options that only mean something together with another one (a refused value still counts as given)."""
    where = header.where
    given = set(header.options) | refused
    problems = [f"{where}: --{dest.replace('_', '-')} needs --for-each" for dest in ITERATOR_ONLY
                if dest in given and "for_each" not in given]
    problems += [f"{where}: --{dest.replace('_', '-')} needs --approve WHO" for dest in GATE_ONLY
                 if dest in given and "approve" not in given]
    if "approve" in given and "for_each" in given:
        problems.append(f"{where}: an approval gate cannot be an iterator (put the gate on its own step)")
    problems += [f"{where}: --{dest.replace('_', '-')} needs --retries N (N >= 1)" for dest in RETRY_ONLY
                 if dest in given and not header.options.get("retries") and "retries" not in refused]
    return problems


def _suggest(flag: str, known: dict[str, Option]) -> str:
    import difflib

    close = difflib.get_close_matches(flag, list(known), n=1)
    if close:
        return f" (did you mean {close[0]}?)"
    if known:
        return f" (known: {', '.join(sorted(known))})"
    return " (this header takes no options)"


__all__ = ["Header", "HeaderError", "Option", "OPTIONS", "parse_header", "split_cell", "step_name"]
