"""Where jetnb keeps its own files by default: the store, and the secrets file next to it.

Both the control plane and the kernel side need these (a person running a
notebook in JupyterLab reads secrets from the same file ``jetnb run`` does),
and the kernel side must not import the store, so the paths live here.
"""

from __future__ import annotations

import os
from pathlib import Path

DEFAULT_STORE = Path(".jetnb") / "jetnb.db"
SECRETS_FILE_ENV = "JETNB_SECRETS_FILE"
SECRETS_FILE_NAME = "secrets.json"


def default_store_path() -> Path:
    """``$JETNB_STORE``, else ``.jetnb/jetnb.db`` under the current folder."""
    return Path(os.environ.get("JETNB_STORE") or DEFAULT_STORE)


def secrets_path(store_path: str | Path | None = None) -> Path:
    """``$JETNB_SECRETS_FILE``, else ``secrets.json`` in the store's folder (``.jetnb/secrets.json``)."""
    chosen = os.environ.get(SECRETS_FILE_ENV)
    if chosen:
        return Path(chosen)
    return Path(store_path or default_store_path()).parent / SECRETS_FILE_NAME
