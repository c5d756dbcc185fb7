"""Sealing bytes for the journal: each secret value's bytes are replaced by random bytes of the same length,
and put back when the entry is read again with the values received anew.

A journal entry is a pickle. Replacing a value by a placeholder of the
same length keeps every length prefix and frame in the pickle valid, and
the sealed bytes are never unpickled: ``unseal`` restores the values
first. The placeholders are random, not derived from the values, so the
file says nothing about them; only the secret's key (``secret:NAME`` or
``param:NAME``) is kept next to its placeholder, to know which value goes
back where.

Values are found in their UTF-8 form, which is how pickle stores ``str``
and how ``bytes`` made with ``.encode()`` hold them; other encodings are
not recognised (``docs/security.md``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping


class SealError(ValueError):
    """A sealed entry cannot be restored: a value it held is not known now, or has changed length."""


def seal(data: bytes, values: Mapping[str, str]) -> tuple[bytes, dict[str, bytes]]:
    """``data`` with each value replaced (longest first), and key -> placeholder for those it held."""
    placeholders: dict[str, bytes] = {}
    for key, value in sorted(values.items(), key=lambda item: len(item[1].encode()), reverse=True):
        raw = value.encode()
        if raw and raw in data:
            placeholder = _fresh(len(raw), data)
            data = data.replace(raw, placeholder)
            placeholders[key] = placeholder
    return data, placeholders


def unseal(data: bytes, placeholders: Mapping[str, bytes], values: Mapping[str, str], describe: str) -> bytes:
    """``data`` with each placeholder replaced by the value its key has now; SealError naming the secret otherwise."""
    for key, placeholder in placeholders.items():
        value = values.get(key)
        if value is None:
            raise SealError(f"{describe} holds the {_label(key)}, which this run was not given again; give it "
                            "again (the same value) to resume, or mark the step --idempotent")
        raw = value.encode()
        if len(raw) != len(placeholder):
            raise SealError(f"{describe} holds the {_label(key)}, whose value has changed since it was saved; "
                            "give the same value to resume, or mark the step --idempotent")
        data = data.replace(placeholder, raw)
    return data


def _fresh(length: int, data: bytes) -> bytes:
    """Random bytes that do not occur in ``data`` (almost always the first draw)."""
    while True:
        candidate = os.urandom(length)
        if candidate not in data:
            return candidate


def _label(key: str) -> str:
    kind, _, name = key.partition(":")
    return f"Secret parameter {name!r}" if kind == "param" else f"secret {name}"
