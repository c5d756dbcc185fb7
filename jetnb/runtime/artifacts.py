"""``jetnb.artifact(name, data)``: a file a workflow produces for people to take away, kept with its run.

In a run, the kernel writes it into the run's ``artifacts/`` folder (the
runner says where in the ``RunContext``) and reports an ``ArtifactEvent``;
the run service records it in the store. A person running the notebook cell
by cell in JupyterLab has no run: the same call writes into a scratch folder
(``jetnb-artifacts/<workflow>/``, or ``$JETNB_SCRATCH_DIR``) and says where.

What it accepts: ``bytes``; ``str`` (text, saved as UTF-8); a
``pathlib.Path`` to a file (copied) or a folder (zipped); a matplotlib
figure (PNG, SVG, PDF or JPEG by the name's extension); a pandas DataFrame
or Series (CSV, Parquet or JSON by the extension). matplotlib and pandas are
never imported here: an object is recognised by its type's module. Text
artifacts are masked with the run's secret values before they are written.
"""

from __future__ import annotations

import io
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import artifact_files as files, location
from ..artifact_rules import (MAX_COUNT, OCTET, WORKFLOW_KEY, ArtifactError, check_name, guess_mime, human_size,
                              is_text, max_bytes)
from ..protocol import ArtifactEvent
from ..secrets.masking import Masker
from . import context
from .events import emit
from .secrets import known_values

SCRATCH_ENV = "JETNB_SCRATCH_DIR"
FIGURE_FORMATS = {".png": "png", ".svg": "svg", ".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg"}
TABLE_FORMATS = (".csv", ".parquet", ".json")


def artifact(name: str, data: Any, *, mime: str | None = None, description: str | None = None) -> Path | str:
    """Save ``data`` as the artifact ``name`` of the current run (replacing one of the same name); returns the file.

    Raises ArtifactError for a bad name, a type it cannot save, or when the
    run's artifacts would pass their size limit or count; nothing is then
    written.
    """
    name = check_name(name)
    if mime is not None and (not isinstance(mime, str) or "/" not in mime or any(c in mime for c in "\r\n")):
        raise ArtifactError(f"artifact {name!r}: mime must look like 'text/csv', got {mime!r}")
    if description is not None and not isinstance(description, str):
        raise ArtifactError(f"artifact {name!r}: description must be text, got {type(description).__name__}")
    ctx = context.current()
    directory, scratch = _folder(ctx)
    name, payload, guessed = _payload(name, data)
    if _masked(name) != name:  # a file name is written as is: it may not hold a secret (the message does not)
        raise ArtifactError("an artifact name holds one of the run's secret values; choose another name")
    mime = mime or guessed
    limit = max_bytes(ctx.context.artifacts_max_bytes or ctx.config.get(WORKFLOW_KEY))
    existing = files.sizes(directory)
    if name not in existing and len(existing) >= MAX_COUNT:
        raise ArtifactError(f"artifact {name!r}: this run already has {len(existing)} artifacts, the most one run "
                            f"may keep")
    used = sum(existing.values()) - existing.get(name, 0)
    room = max(limit - used, 0)
    try:
        size, sha256 = _write(directory, name, payload, mime, room)
    except OverflowError as exc:
        raise ArtifactError(_too_big(name, int(exc.args[0]) if exc.args else room + 1, used, limit)) from None
    path = location.join(directory, name) if location.is_url(directory) else Path(directory) / name
    if scratch:
        _say_where(name, path, size)
        return path
    saved_at = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    emit(ArtifactEvent(name=name, size=size, mime=mime, sha256=sha256, step=ctx.current_step,
                       description=description, created_at=saved_at), f"artifact: {name} ({human_size(size)})")
    return path


def _folder(ctx: context.KernelRun) -> tuple[str, bool]:
    """The run's artifacts folder, or (no run) the scratch folder of this notebook's workflow."""
    if ctx.context.artifacts_dir:
        return ctx.context.artifacts_dir, False
    root = os.environ.get(SCRATCH_ENV) or "jetnb-artifacts"
    return str(Path(root) / (ctx.workflow or "notebook")), True


def _payload(name: str, data: Any) -> tuple[str, bytes | str | Path, str]:
    """The artifact's final name, what to write (bytes, text, or a file or folder) and its guessed MIME type."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        return name, bytes(data), guess_mime(name)
    if isinstance(data, str):
        return name, data, guess_mime(name, text=True)
    if isinstance(data, os.PathLike):
        path = Path(data)
        if path.is_dir():
            name = name if name.lower().endswith(".zip") else check_name(name + ".zip")
            return name, path, "application/zip"
        if not path.is_file():
            raise ArtifactError(f"artifact {name!r}: no file or folder {str(path)!r}")
        guessed = guess_mime(name)
        return name, path, guessed if guessed != OCTET else guess_mime(path.name)
    if _from(data, "matplotlib") and hasattr(data, "savefig"):
        return _figure(name, data)
    if _from(data, "pandas") and hasattr(data, "to_csv"):
        return _table(name, data)
    raise ArtifactError(f"artifact {name!r}: cannot save a {type(data).__name__}; give bytes, text (str), a "
                        "pathlib.Path to a file or folder, a matplotlib figure or a pandas DataFrame")


def _from(data: Any, package: str) -> bool:
    """Whether ``data``'s type (or one it derives from) comes from ``package``, without importing it."""
    return any((cls.__module__ or "").split(".")[0] == package for cls in type(data).__mro__)


def _figure(name: str, figure: Any) -> tuple[str, bytes | str, str]:
    suffix = Path(name).suffix.lower()
    if not suffix:
        name, suffix = check_name(name + ".png"), ".png"
    if suffix not in FIGURE_FORMATS:
        raise ArtifactError(f"artifact {name!r}: a figure is saved as {', '.join(FIGURE_FORMATS)}; not {suffix}")
    buffer = io.BytesIO()
    figure.savefig(buffer, format=FIGURE_FORMATS[suffix], bbox_inches="tight")
    data = buffer.getvalue()
    return name, (data.decode("utf-8") if suffix == ".svg" else data), guess_mime(name)


def _table(name: str, table: Any) -> tuple[str, bytes | str, str]:
    suffix = Path(name).suffix.lower()
    if not suffix:
        name, suffix = check_name(name + ".csv"), ".csv"
    if suffix == ".csv":
        return name, table.to_csv(index=_named_index(table)), "text/csv"
    if suffix == ".json":
        return name, table.to_json(orient="records", date_format="iso"), "application/json"
    if suffix == ".parquet":
        buffer = io.BytesIO()
        frame = table.to_frame() if hasattr(table, "to_frame") and not hasattr(table, "columns") else table
        try:
            frame.to_parquet(buffer)
        except ImportError as exc:
            raise ArtifactError(f"artifact {name!r}: Parquet needs pyarrow ({exc})") from None
        return name, buffer.getvalue(), "application/vnd.apache.parquet"
    raise ArtifactError(f"artifact {name!r}: a table is saved as {', '.join(TABLE_FORMATS)}; not {suffix}")


def _named_index(table: Any) -> bool:
    """Keep the index in a CSV only when it means something (it has a name), as people export tables."""
    return any(n is not None for n in getattr(table.index, "names", [None]))


def _write(directory: str, name: str, payload: bytes | str | Path, mime: str, room: int) -> tuple[int, str]:
    """Write the artifact (text masked); OverflowError before anything is kept when it exceeds ``room`` bytes."""
    if isinstance(payload, Path):
        if payload.is_dir():
            return files.zip_folder(directory, name, payload, room)
        if payload.stat().st_size > room:
            raise OverflowError(payload.stat().st_size)
        if not is_text(mime):
            return files.copy_file(directory, name, payload, room)
        raw = payload.read_bytes()
        try:
            payload = raw.decode("utf-8")
        except UnicodeDecodeError:
            return files.copy_file(directory, name, payload, room)
    if isinstance(payload, str):
        payload = _masked(payload).encode("utf-8")
    if len(payload) > room:
        raise OverflowError(len(payload))
    return files.write_bytes(directory, name, payload)


def _masked(text: str) -> str:
    values = known_values()
    if not values:
        return text
    masker = Masker()
    masker.hold(values)
    return masker.mask(text)


def _too_big(name: str, size: int, used: int, limit: int) -> str:
    return (f"artifact {name!r} ({size:,} bytes) would pass the run's artifact limit of {limit:,} bytes "
            f"({human_size(limit)}; {used:,} used); raise `{WORKFLOW_KEY}:` in the %%workflow "
            "cell or $JETNB_ARTIFACTS_MAX_BYTES")


def _say_where(name: str, path: Path, size: int) -> None:
    """No run to keep it: tell the person where the file went (a link JupyterLab opens)."""
    from urllib.parse import quote

    from IPython import get_ipython
    from IPython.display import Markdown, display

    relative = os.path.relpath(path)
    message = (f"artifact `{name}` ({human_size(size)}) saved to [{relative}]({quote(relative)}) — not kept with "
               "a run: this notebook is not running under jetnb")
    if get_ipython() is None:
        print(message)
    else:
        display(Markdown(message))
