"""jetnb inside JupyterLab: the server extension behind the jetnb sidebar, answering under ``{base_url}jetnb/api/``.

Installing jetnb enables it (``etc/jupyter/jupyter_server_config.d/jetnb.json``)
and installs the prebuilt frontend (``share/jupyter/labextensions/jetnb``);
labextension/README.md describes both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .handlers import routes
from .lab import Lab


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jetnb.jupyter"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    lab = Lab.for_root(Path(serverapp.root_dir))
    serverapp.web_app.add_handlers(".*$", routes(serverapp.web_app.settings["base_url"], lab))
    serverapp.log.info("jetnb: sidebar API at %sjetnb/api/ (store %s, run logs in %s)",
                       serverapp.web_app.settings["base_url"], lab.store_path, lab.runs_dir)
