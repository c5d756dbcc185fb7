"""Finding a run's artifact to hand it out (the CLI, the API, the pages, ``LocalClient``): its row in the store
and its file beside the run log, or one clear error naming the run, the artifact and what the run has."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import artifact_files as files
from ..artifact_rules import ArtifactError, check_name
from ..runfiles import artifacts_dir
from ..store import Store


class ArtifactNotFound(LookupError):
    """No such artifact (or its file is gone); the message says which run has which."""


@dataclass(frozen=True)
class Found:
    run_id: str
    artifact: dict[str, Any]  # the store's row
    directory: str  # the run's artifacts folder

    @property
    def name(self) -> str:
        return self.artifact["name"]


def find(store: Store, ref: str, name: str) -> Found:
    """The artifact ``name`` of run ``ref``; RunNotFound or ArtifactNotFound."""
    run = store.get_run(ref, with_steps=False)
    try:
        check_name(name)
    except ArtifactError as exc:
        raise ArtifactNotFound(str(exc)) from None
    artifact = store.get_artifact(run["id"], name)
    if artifact is None:
        have = [a["name"] for a in store.artifacts(run["id"])]
        listed = f"it has: {', '.join(have[:20])}{' …' if len(have) > 20 else ''}" if have else "it has none"
        raise ArtifactNotFound(f"run {run['id']} has no artifact {name!r} ({listed})")
    directory = artifacts_dir(run["log_path"] or "")
    if not run["log_path"] or not files.exists(directory, name):
        raise ArtifactNotFound(f"the file of artifact {name!r} of run {run['id']} is gone from {directory}")
    return Found(run["id"], artifact, directory)
