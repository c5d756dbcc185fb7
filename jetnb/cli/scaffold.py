"""``jetnb new``: a workflow notebook from one of the shipped templates."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from typing import Any

from ..fields import SLUG_RE


def _templates() -> Any:
    return resources.files("jetnb").joinpath("templates")


def template_names() -> list[str]:
    return sorted(p.name[:-6] for p in _templates().iterdir() if p.name.endswith(".ipynb"))


def create(name: str, template: str = "blank", directory: str | Path = ".") -> Path:
    """Write ``<directory>/<name>.ipynb`` named ``name`` in its ``%%workflow`` cell; never overwrites."""
    if not SLUG_RE.match(name):
        raise ValueError(f"{name!r} is not a valid workflow name (letters, digits, '.', '_' and '-')")
    if template not in template_names():
        raise ValueError(f"unknown template {template!r} (available: {', '.join(template_names())})")
    target = Path(directory) / f"{name}.ipynb"
    if target.exists():
        raise FileExistsError(f"{target} already exists; choose another name or remove it")
    nb = json.loads(_templates().joinpath(f"{template}.ipynb").read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        source = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        if source.startswith("%%workflow"):
            cell["source"] = re.sub(r"(?m)^name:.*$", f"name: {name}", source, count=1)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return target
