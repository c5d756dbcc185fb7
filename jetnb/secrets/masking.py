"""Masking: every secret value this process knows is replaced by ``***`` in what jetnb writes or shows.

One process-wide ``masker`` holds the values: the run service adds the
secrets of the runs it executes, the values of the secrets file and
``$JETNB_TOKEN``; ``jetnb serve`` adds its webhook secrets. The choke points
(the engine's kernel messages, the run-log write, the store's writes, the
server's log handlers, the kernel's stderr) ask it to mask.

A value is recognised as written, JSON-escaped, as Python's ``repr`` shows
it inside quotes, and URL-quoted. A value transformed before it is printed
(base64, reversed, split in two) is not: ``docs/security.md`` lists the
limits. Values shorter than ``MIN_LENGTH`` are refused: masking every
``abc`` in every log would destroy the logs and still not hide a guessable
secret.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_LENGTH = 6
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


class SecretTooShort(ValueError):
    """A secret value too short to be masked safely."""


def check_maskable(value: str, what: str) -> str:
    """``value`` if it can be masked; SecretTooShort naming ``what`` (a parameter, a secret) otherwise."""
    if len(value) < MIN_LENGTH:
        raise SecretTooShort(f"{what} is {len(value)} characters long; jetnb needs secrets of at least "
                             f"{MIN_LENGTH} characters to mask them safely")
    return value


def forms(value: str) -> set[str]:
    """The ways ``value`` shows up in text: as is, JSON-escaped, inside a Python repr, URL-quoted."""
    found = {value, json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1], repr(value)[1:-1],
             quote(value, safe=""), quote(value), quote_plus(value)}
    return {form for form in found if form}


def _pattern(texts: Iterable[str]) -> re.Pattern[str] | None:
    """One alternation, longest first, so a whole value is replaced before a shorter one inside it."""
    ordered = sorted(set(texts), key=len, reverse=True)
    return re.compile("|".join(map(re.escape, ordered))) if ordered else None


class Masker:
    """The secret values to mask: ``remember``\\ ed ones for the life of the process, ``hold``\\ ed ones until
    released (a run's parameters), counted so two runs sharing a value keep it masked until both end."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._permanent: set[str] = set()
        self._held: Counter[str] = Counter()
        self._text: re.Pattern[str] | None = None
        self._json: re.Pattern[str] | None = None

    def remember(self, *values: str) -> None:
        """Mask these values from now on; SecretTooShort for one that cannot be masked safely."""
        with self._lock:
            self._permanent.update(check_maskable(v, "a secret value") for v in values)
            self._compile()

    def hold(self, values: Iterable[str]) -> None:
        """Mask these values until ``release`` is called for each (a run's own secrets)."""
        with self._lock:
            self._held.update(check_maskable(v, "a secret value") for v in values)
            self._compile()

    def release(self, values: Iterable[str]) -> None:
        with self._lock:
            self._held.subtract(values)
            self._held = +self._held  # drops values no run holds any more
            self._compile()

    def _compile(self) -> None:
        values = self._permanent | set(self._held)
        written = {form for value in values for form in forms(value)}
        self._text = _pattern(written)
        self._json = _pattern({json.dumps(form, ensure_ascii=ascii)[1:-1] for form in written
                               for ascii in (True, False)})

    def mask(self, text: str) -> str:
        """``text`` with every known value replaced by ``***``."""
        pattern = self._text
        return text if pattern is None else pattern.sub(MASK, text)

    def masked(self, value: Any) -> Any:
        """A copy of a JSON-like value (dicts, lists, text) with every text masked, keys included."""
        if self._text is None:
            return value
        if isinstance(value, str):
            return self.mask(value)
        if isinstance(value, dict):
            return {self.masked(k): self.masked(v) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [self.masked(v) for v in value]
        return value

    def mask_json(self, text: str) -> str:
        """Serialized JSON with every known value masked inside its strings; numbers and syntax are left alone,
        so the result is still valid JSON whatever the values are."""
        pattern = self._json
        if pattern is None or not pattern.search(text):
            return text
        return _JSON_STRING.sub(lambda m: self._mask_literal(m.group(0), pattern), text)

    def _mask_literal(self, literal: str, pattern: re.Pattern[str]) -> str:
        if not pattern.search(literal):
            return literal
        decoded = json.loads(literal)
        masked = self.mask(decoded)
        return literal if masked == decoded else json.dumps(masked, ensure_ascii=False)


masker = Masker()
