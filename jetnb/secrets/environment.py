"""What a kernel started by jetnb inherits: this process's environment minus jetnb's own credentials (the server
token, a personal token, the secrets file's location, the webhook secrets of served workflows) and minus the run's
secrets.

A declared secret is reachable in the kernel only through ``jetnb.secret``;
a notebook (or a library it calls, or a shell command it runs) that reads
``os.environ`` does not find it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable

from ..paths import SECRETS_FILE_ENV

TOKEN_ENV = "JETNB_TOKEN"  # the server token
USER_TOKEN_ENV = "JETNB_USER_TOKEN"  # a person's token for the CLI and LocalClient (service/identity.py)
CREDENTIALS = (TOKEN_ENV, USER_TOKEN_ENV)
ALWAYS = (*CREDENTIALS, SECRETS_FILE_ENV)
_registered: set[str] = set()
_lock = threading.Lock()


def withhold(names: Iterable[str]) -> None:
    """Never hand these variables to a kernel from now on (``jetnb serve``: its workflows' webhook secrets)."""
    with _lock:
        _registered.update(names)


def withheld(extra: Iterable[str] = ()) -> list[str]:
    """Every variable a kernel must not see: jetnb's own, those ``withhold`` was given, and ``extra``."""
    with _lock:
        return sorted({*ALWAYS, *_registered, *extra})


def kernel_environment(names: Iterable[str]) -> dict[str, str]:
    """This process's environment without ``names``: what a kernel is started with."""
    hidden = set(names)
    return {key: value for key, value in os.environ.items() if key not in hidden}


# A kernel zygote's own environment (``executor/zygote_process.py``). Every kernel it forks gets the run's
# environment in ``os.environ``, but ``/proc/self/environ`` keeps showing what the zygote started with, and the
# zygote starts before it knows which variables a run's workflow declares as secrets. So it gets only variables
# that configure programs (where to find things, locale, threads), never one whose name suggests a credential.
CONFIGURATION = frozenset({"PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TERM", "TMPDIR",
                           "TEMP", "TMP", "VIRTUAL_ENV", "IPYTHONDIR", "LD_LIBRARY_PATH", "MPLBACKEND",
                           "MPLCONFIGDIR", "JETNB_ZYGOTE_IMPORTS"})
CONFIGURATION_PREFIXES = ("LC_", "PYTHON", "XDG_", "CONDA_", "JUPYTER_", "OMP_", "MKL_", "OPENBLAS_", "NUMEXPR_")
CREDENTIAL_WORDS = ("TOKEN", "SECRET", "PASSWORD", "PASSWD", "KEY", "CREDENTIAL", "AUTH")


def configuration_environment(names: Iterable[str]) -> dict[str, str]:
    """This process's configuration variables (``CONFIGURATION``) without ``names`` or any credential-like name."""
    hidden = set(names)
    return {key: value for key, value in os.environ.items()
            if key not in hidden and (key in CONFIGURATION or key.startswith(CONFIGURATION_PREFIXES))
            and not any(word in key.upper() for word in CREDENTIAL_WORDS)}

