"""The run's journal: after each completed step, what it changed in the notebook's namespace.

A resumed run (after an approval, or after a failure) restores completed
steps from here instead of executing them again, so their side effects
happen once. Values are saved with cloudpickle (functions and classes
defined in the notebook included); a value that cannot be saved is
remembered with its type, and waiting for approval is refused while such a
value belongs to a step that is not marked ``--idempotent``.

No secret value reaches a journal file: each entry is sealed
(``jetnb.secrets.sealing``) with the run's secrets as the kernel received
them, and unsealed on restore with the values the resumed run received
again, so a variable holding a secret (or a text containing one) comes back
as it was.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

import cloudpickle

from ..secrets.sealing import seal, unseal
from . import context
from .outcomes import StepOutcome
from .secrets import sealed_values

_RESERVED = {"In", "Out", "exit", "quit", "get_ipython", "steps", "error"}
_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None), frozenset)


class Journal:
    """One per run, in the kernel; files live in the folder the runner gives (``<run log>.journal/``)."""

    def __init__(self, directory: str):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self._digests: dict[str, str] = {}
        self._ids: dict[str, int] = {}
        self.unsaved: dict[str, tuple[str, str]] = {}  # name -> (step, type) for steps that are not idempotent

    def _names(self, shell: Any) -> dict[str, Any]:
        hidden = getattr(shell, "user_ns_hidden", {})
        return {k: v for k, v in shell.user_ns.items()
                if not k.startswith("_") and k not in _RESERVED and k not in hidden}

    def record(self, shell: Any, step: str, idempotent: bool = False) -> dict[str, str]:
        """Save what ``step`` changed; returns the names it bound that could not be saved (name -> type)."""
        names = self._names(shell)
        changed: dict[str, bytes] = {}
        unsaved: dict[str, str] = {}
        for name, value in names.items():
            rebound = self._ids.get(name) != id(value)
            if not rebound and isinstance(value, _IMMUTABLE):
                continue
            self._ids[name] = id(value)
            try:
                data = cloudpickle.dumps(value)
            except Exception:  # anything unpicklable: connections, locks, generators...
                if rebound:
                    unsaved[name] = f"{type(value).__module__}.{type(value).__qualname__}"
                continue
            digest = hashlib.blake2b(data, digest_size=16).hexdigest()
            if self._digests.get(name) != digest:
                self._digests[name] = digest
                changed[name] = data
                self.unsaved.pop(name, None)
        deleted = [name for name in list(self._digests) if name not in names]
        for name in deleted:
            self._digests.pop(name)
            self._ids.pop(name, None)
        if not idempotent:
            self.unsaved.update({name: (step, kind) for name, kind in unsaved.items()})
        entry = {"step": step, "idempotent": idempotent, "changed": changed, "deleted": deleted, "unsaved": unsaved,
                 "outcome": _outcome_bytes(context.current().steps.get(step))}
        sealed, placeholders = seal(cloudpickle.dumps(entry), sealed_values())
        _write_entry(self.directory / f"{step}.pkl", pickle.dumps({"placeholders": placeholders, "entry": sealed}))
        return unsaved

    def restore(self, shell: Any, step: str) -> None:
        """Put back what ``step`` changed, as if it had just run."""
        path = self.directory / f"{step}.pkl"
        if not path.exists():
            raise FileNotFoundError(f"the journal has no entry for step {step!r} ({path}); it cannot be restored")
        entry = cloudpickle.loads(_unsealed(path, step))
        for name, data in entry["changed"].items():
            value = cloudpickle.loads(data)
            shell.user_ns[name] = value
            self._ids[name] = id(value)
            self._digests[name] = hashlib.blake2b(data, digest_size=16).hexdigest()
        for name in entry["deleted"]:
            shell.user_ns.pop(name, None)
            self._digests.pop(name, None)
        if not entry["idempotent"]:
            self.unsaved.update({name: (step, kind) for name, kind in entry["unsaved"].items()})
        if entry["outcome"] is not None:
            context.current().steps[step] = cloudpickle.loads(entry["outcome"])

    def blockers(self) -> list[str]:
        """Why this run could not be resumed faithfully, one line per unsaved value."""
        return [f"step {step!r} bound {name!r} ({kind}), which cannot be saved"
                for name, (step, kind) in sorted(self.unsaved.items())]


# An entry file: this line, the BLAKE2 digest of the rest, the rest. Written in place, without a temporary file and
# a rename: on ext4 those two cost 0.1 to 1 ms per step; a file the kernel stopped writing midway fails its digest.
_FRAMED = b"jetnb journal entry 1\n"
_DIGEST = 16


def _write_entry(path: Path, payload: bytes) -> None:
    data = memoryview(_FRAMED + hashlib.blake2b(payload, digest_size=_DIGEST).digest() + payload)
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        while data:
            data = data[os.write(handle, data):]
    finally:
        os.close(handle)


def _saved(path: Path, step: str) -> dict[str, Any]:
    """The entry as written; FileNotFoundError when there is none, or only part of one."""
    raw = path.read_bytes()
    framed = raw.startswith(_FRAMED)  # else written by a jetnb before entries were framed (through a temporary file)
    payload = raw[len(_FRAMED) + _DIGEST:] if framed else raw
    whole = (hashlib.blake2b(payload, digest_size=_DIGEST).digest() == raw[len(_FRAMED):len(_FRAMED) + _DIGEST]
             if framed else not _FRAMED.startswith(raw))
    try:
        saved = pickle.loads(payload) if whole else None
    except (pickle.UnpicklingError, EOFError, ValueError):
        saved = None
    if not isinstance(saved, dict):
        raise FileNotFoundError(f"the journal entry of step {step!r} ({path}) is incomplete: its kernel stopped "
                                "while writing it, so the step cannot be restored")
    return saved


def _unsealed(path: Path, step: str) -> bytes:
    """The entry's pickle with the run's secret values put back; SealError naming the secret that is missing."""
    saved = _saved(path, step)
    return unseal(saved["entry"], saved["placeholders"], sealed_values(), f"the journal of step {step!r}")


def _outcome_bytes(outcome: StepOutcome | None) -> bytes | None:
    """The step's outcome for ``steps.NAME``; an unsaveable value is kept as its repr."""
    if outcome is None:
        return None
    try:
        return cloudpickle.dumps(outcome)
    except Exception:
        return cloudpickle.dumps(replace(outcome, value=repr(outcome.value), items=[
            replace(item, value=repr(item.value), item=repr(item.item)) for item in outcome.items or []] or None))


def record(step: str, idempotent: bool = False) -> None:
    """After each completed step: by ``%%step`` and ``%%result`` themselves as they end, by the runner (silently)
    for an anonymous cell."""
    from IPython import get_ipython

    journal = context.current().journal
    if journal is not None:
        journal.record(get_ipython(), step, idempotent)


def restore(step: str) -> None:
    """Called by the runner (silently) in place of executing a completed step on resume."""
    from IPython import get_ipython

    journal = context.current().journal
    if journal is None:
        raise RuntimeError("this run has no journal to restore from")
    journal.restore(get_ipython(), step)
