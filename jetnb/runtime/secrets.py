"""The kernel side of secrets: ``jetnb.secret(NAME)``, ``Secret`` parameters, and the values journal files seal.

Headless, the runner hands the run's values over in a silent call of
``receive`` (no cell, no history entry, no output) right after the
bootstrap, and calls ``bind_parameters`` once the parameters cell has run,
which makes each ``Secret`` parameter a notebook variable (papermill never
sees them, so no injected line holds one). Declared secrets stay in this
module: they are not notebook variables and not in ``os.environ``; a
notebook reads one with ``jetnb.secret``.

A person running the notebook cell by cell in JupyterLab received nothing:
``secret`` then reads what the runner would have (the environment, then the
secrets file), so the notebook behaves the same. Interactively a ``Secret``
parameter keeps its default, None, unless the person assigns it.
"""

from __future__ import annotations

from typing import NewType

from ..paths import secrets_path
from ..protocol import RunSecrets
from ..secrets.masking import MIN_LENGTH, check_maskable
from ..secrets.sources import SecretSources, where_to_set
from . import context

Secret = NewType("Secret", str)  # the annotation of a secret parameter: ``api_key: Secret = None``
_received: RunSecrets | None = None


class SecretError(LookupError):
    """A secret that is not declared, or has no value; the message names it and says where values come from."""


def receive(data: dict) -> None:
    """Called by the runner (silently) with ``RunSecrets.to_dict()``, before the first cell."""
    global _received
    _received = RunSecrets.from_dict(data)


def bind_parameters() -> None:
    """Called by the runner (silently) after the parameters cell: each given ``Secret`` parameter becomes a variable."""
    from IPython import get_ipython

    if _received is not None:
        get_ipython().user_ns.update(_received.params)


def secret(name: str) -> str:
    """The value of the secret ``name``, which the ``%%workflow`` cell must declare under ``secrets:``."""
    if _received is not None:
        declared, value = name in _received.declared, _received.declared.get(name)
        file = None
    else:
        declared = name in (context.current().config.get("secrets") or ())
        sources = SecretSources.at(secrets_path())
        value, file = (sources.lookup(name)[0] if declared else None), sources.file.path
    if not declared:
        hint = "" if _received is not None else " (and run that cell)"
        raise SecretError(f"secret {name!r} is not declared: add it to `secrets:` in the %%workflow cell{hint}")
    if value is None:
        raise SecretError(f"secret {name!r} has no value: {where_to_set(name, file)}")
    return check_maskable(value, f"secret {name!r}")


def sealed_values() -> dict[str, str]:
    """Every secret value this run was given, by key (``secret:NAME``, ``param:NAME``): what the journal seals."""
    if _received is None:
        return {}
    declared = {f"secret:{name}": value for name, value in _received.declared.items() if value}
    return {**declared, **{f"param:{name}": value for name, value in _received.params.items()}}


def known_values() -> list[str]:
    """The secret values to mask in what the run writes itself (text artifacts): those the runner sent, or, for a
    person in JupyterLab, the values of the secrets the ``%%workflow`` cell declares, as ``secret`` would read them."""
    if _received is not None:
        return _received.values()
    declared = context.current().config.get("secrets") or ()
    if not declared:
        return []
    sources = SecretSources.at(secrets_path())
    return [value for name in declared if (value := sources.lookup(name)[0]) and len(value) >= MIN_LENGTH]
