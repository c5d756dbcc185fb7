"""The secrets file (``.jetnb/secrets.json`` next to the store, or ``$JETNB_SECRETS_FILE``): names and values that
``jetnb secrets set`` keeps for runs, readable and writable by its owner only.

It is a JSON object ``{"NAME": "value"}``, replaced atomically with mode
0600 at every change. A file others may read or write (mode wider than
0600) is refused, never used: its values may already be known.
"""

from __future__ import annotations

import json
import stat
from dataclasses import dataclass
from pathlib import Path

from ..files import write_atomic
from .masking import check_maskable
from .names import secret_name


class SecretsFileError(ValueError):
    """The secrets file cannot be used; the message names the file and says what to do."""


@dataclass(frozen=True)
class SecretsFile:
    path: Path

    def read(self) -> dict[str, str]:
        """Name -> value; empty when the file does not exist."""
        try:
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return {}
        except OSError as exc:
            raise SecretsFileError(f"secrets file {self.path}: cannot read it: {exc.strerror}") from None
        if stat.S_IMODE(mode) & 0o077:
            raise SecretsFileError(f"secrets file {self.path} may be read or changed by others (mode "
                                   f"{stat.S_IMODE(mode):04o}); jetnb refuses to use it: run `chmod 600 {self.path}`")
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            raise SecretsFileError(f"secrets file {self.path}: cannot read it: {exc}") from None
        except json.JSONDecodeError as exc:
            raise SecretsFileError(f"secrets file {self.path}: not valid JSON at line {exc.lineno} column "
                                   f"{exc.colno}: {exc.msg}") from None
        return self._checked(data)

    def _checked(self, data: object) -> dict[str, str]:
        if not isinstance(data, dict):
            raise SecretsFileError(f"secrets file {self.path}: expected a JSON object of NAME: value")
        for name, value in data.items():
            try:
                secret_name(name)
            except ValueError as exc:
                raise SecretsFileError(f"secrets file {self.path}: {exc}") from None
            if not isinstance(value, str):
                raise SecretsFileError(f"secrets file {self.path}: the value of {name} must be text, not "
                                       f"{type(value).__name__}")
        return data

    def set(self, name: str, value: str) -> None:
        """Add or replace one secret; ValueError for a bad name or a value too short to mask."""
        values = self.read()
        values[secret_name(name)] = check_maskable(value, f"the value of {name}")
        self._write(values)

    def unset(self, name: str) -> bool:
        """Remove one secret; False when the file has no such name."""
        values = self.read()
        if values.pop(name, None) is None:
            return False
        self._write(values)
        return True

    def _write(self, values: dict[str, str]) -> None:
        write_atomic(json.dumps(values, indent=2, sort_keys=True) + "\n", self.path)
