"""Where a secret's value comes from: the environment of the process (``jetnb run``, ``jetnb serve``, or the
kernel a person runs in JupyterLab) wins; otherwise the secrets file.

The same lookup serves a headless run (the run service reads the values
and hands them to the kernel) and a person running the notebook cell by
cell, so a notebook behaves the same either way.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .store import SecretsFile

ENVIRONMENT = "environment"
FILE = "secrets file"


@dataclass
class SecretSources:
    """The environment and the secrets file, read once: a run sees one consistent set of values."""

    file: SecretsFile
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ), repr=False)
    _stored: dict[str, str] | None = field(default=None, repr=False)

    @classmethod
    def at(cls, secrets_file: str | Path) -> SecretSources:
        return cls(SecretsFile(Path(secrets_file)))

    def stored(self) -> dict[str, str]:
        """The secrets file's values (read on first use; SecretsFileError when it cannot be used)."""
        if self._stored is None:
            self._stored = self.file.read()
        return self._stored

    def lookup(self, name: str) -> tuple[str | None, str | None]:
        """(value, where it comes from); (None, None) when neither source has a non-empty value."""
        if self.environ.get(name):
            return self.environ[name], ENVIRONMENT
        if self.stored().get(name):
            return self.stored()[name], FILE
        return None, None


def where_to_set(name: str, file: Path | None = None) -> str:
    """Where a value for ``name`` can come from: what every "no value" error says."""
    kept = f" (kept in {file})" if file is not None else ""
    return (f"set the environment variable {name} for jetnb run / jetnb serve (or the kernel, in JupyterLab), or "
            f"store it with `jetnb secrets set {name}`{kept}")
