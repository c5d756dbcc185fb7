"""The secret values of runs, as the run service keeps and collects them.

``Secret`` parameters are held in this process's memory from the moment a
run is recorded (the store keeps ``***`` in their place) until the run
ends; a run waiting at a gate keeps them, so the process that holds them
can resume it. Nothing writes them anywhere, so a run that executes again
in another process or after a restart (``jetnb resume``, a queued run a
restarted server picks up, ``jetnb rerun``) needs them given again: it is
refused, or fails, with a message naming each parameter.

Declared secrets are read afresh at each execution (the environment of this
process wins, then the secrets file) and every value is masked from then
on; the kernel's environment is this process's minus those names, minus
every name in the secrets file and jetnb's own credentials.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..model.params import ParameterError, coerce_params
from ..model.workflow import Workflow
from ..protocol import RunSecrets
from ..secrets.environment import CREDENTIALS, withheld, withhold
from ..secrets.masking import MASK, SecretTooShort, check_maskable, masker
from ..secrets.sources import SecretSources
from ..secrets.store import SecretsFileError


class SecretsUnavailable(ValueError):
    """A run's secret values cannot all be had; the message names each one and how to give it."""


@dataclass
class Collected:
    """What one execution gets: the values for the kernel, and the variables its environment must not have."""

    secrets: RunSecrets
    withheld: list[str]


def secret_parameters(workflow: Workflow) -> list[str]:
    """The names of the parameters typed ``Secret``."""
    return [p.name for p in workflow.parameters if p.type.base == "secret"]


class RunSecretsKeeper:
    def __init__(self, secrets_file: str | Path):
        self.secrets_file = Path(secrets_file)
        self._held: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        self._remember_ambient()

    def _remember_ambient(self) -> None:
        """Mask what this process may hold anyway (the secrets file's values, ``$JETNB_TOKEN``,
        ``$JETNB_USER_TOKEN``), and keep the file's names out of kernels started from now on, pre-started ones
        included.

        Best effort: a file that cannot be used is reported when a run needs it.
        """
        try:
            stored = SecretSources.at(self.secrets_file).stored()
        except SecretsFileError:
            stored = {}
        withhold(stored)
        _remember_maskable([*stored.values(), *(os.environ.get(name) or "" for name in CREDENTIALS)])

    # recording ---------------------------------------------------------------------

    def split(self, workflow: Workflow, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """(the parameters as the store keeps them, the Secret values to hold); ParameterError naming a Secret
        parameter given ``***`` (a value jetnb did not keep) or a value too short to mask."""
        stored, held, problems = dict(values), {}, []
        for name in secret_parameters(workflow):
            value = values.get(name)
            if value is None:
                continue
            if value == MASK:
                problems.append(f"parameter {name!r}: {MASK} stands for a Secret value jetnb never keeps; give the "
                                "value itself again")
                continue
            try:
                held[name] = check_maskable(value, f"parameter {name!r}")
            except SecretTooShort as exc:
                problems.append(str(exc))
            stored[name] = MASK
        if problems:
            raise ParameterError(problems)
        return stored, held

    def hold(self, run_id: str, values: dict[str, str]) -> None:
        """Keep a run's Secret values (masked everywhere) until ``forget``."""
        if not values:
            return
        masker.hold(values.values())
        with self._lock:
            previous = self._held.pop(run_id, {})
            self._held[run_id] = {**previous, **values}
        masker.release(previous.values())

    def forget(self, run_id: str) -> None:
        """The run has ended: its Secret values are dropped (and masked no more, unless another run holds them)."""
        with self._lock:
            values = self._held.pop(run_id, {})
        masker.release(values.values())

    # resuming ----------------------------------------------------------------------

    def give_again(self, run: dict[str, Any], workflow: Workflow, given: dict[str, Any]) -> None:
        """Hold values given again for a run's Secret parameters; ParameterError for any other name or a bad value."""
        if not given:
            return
        secret_names = secret_parameters(workflow)
        others = [name for name in given if name not in secret_names]
        if others:
            raise ParameterError([f"parameter {name!r}: only Secret parameters (never stored) can be given again "
                                  f"when resuming run {run['id']}; the others keep their recorded values"
                                  for name in others])
        _, held = self.split(workflow, coerce_params(workflow.parameters, given))
        self.hold(run["id"], held)

    def missing(self, run: dict[str, Any], workflow: Workflow) -> list[str]:
        """The run's Secret parameters whose value was given but is not held by this process."""
        with self._lock:
            held = self._held.get(run["id"], {})
        return [name for name in secret_parameters(workflow)
                if (run["params"] or {}).get(name) == MASK and name not in held]

    # executing ---------------------------------------------------------------------

    def collect(self, run: dict[str, Any], workflow: Workflow) -> Collected:
        """Every secret value the execution needs; SecretsUnavailable naming what cannot be had."""
        missing = self.missing(run, workflow)
        if missing:
            raise SecretsUnavailable(not_kept(run["id"], missing))
        sources = SecretSources.at(self.secrets_file)
        try:
            stored = sources.stored()
            declared = _declared(sources, workflow)
        except (SecretsFileError, SecretTooShort) as exc:
            raise SecretsUnavailable(str(exc)) from None
        _remember_maskable(stored.values())  # a hand-edited value too short to mask is refused when a run reads it
        with self._lock:
            held = dict(self._held.get(run["id"], {}))
        params = {name: held[name] for name in secret_parameters(workflow) if name in held}
        withhold(_names(workflow, stored))  # from now on, kernels started ahead of a run lack them too
        return Collected(RunSecrets(declared, params), withheld())


def expected_withheld(secrets_file: str | Path, workflow: Workflow) -> list[str]:
    """What ``RunSecretsKeeper.collect`` will withhold for a run of ``workflow``, read ahead (no value checked): the
    environment of a kernel started before the run (``jetnb run``'s head start), taken only if the guess was right."""
    try:
        stored = SecretSources.at(secrets_file).stored()
    except (SecretsFileError, SecretTooShort):
        stored = {}
    return withheld(_names(workflow, stored))


def _names(workflow: Workflow, stored: Iterable[str]) -> list[str]:
    """The variables a run of ``workflow`` withholds beyond jetnb's own: its declared secrets, the secrets file's,
    its webhooks' secrets."""
    hooks = [spec["secret_env"] for _, spec in workflow.config.triggers if spec.get("secret_env")]
    return [*(workflow.config.values.get("secrets") or ()), *stored, *hooks]


def _declared(sources: SecretSources, workflow: Workflow) -> dict[str, str | None]:
    """Each declared secret's value (None: it has none), masked from now on; SecretTooShort for one that cannot be."""
    found: dict[str, str | None] = {}
    for name in workflow.config.values.get("secrets") or ():
        value, where = sources.lookup(name)
        if value is not None:
            masker.remember(check_maskable(value, f"secret {name} (from the {where})"))
        found[name] = value
    return found


def _remember_maskable(values: Iterable[str]) -> None:
    for value in values:
        try:
            masker.remember(value)
        except SecretTooShort:
            continue


def not_kept(run_id: str, names: list[str]) -> str:
    """The refusal for a run whose Secret parameters this process does not hold."""
    given = " ".join(f"-p {name} VALUE" for name in names)
    return (f"run {run_id}: the value of Secret parameter {', '.join(map(repr, names))} was not kept (jetnb never "
            f"writes a secret's value); give it again: jetnb resume {run_id} {given}")
