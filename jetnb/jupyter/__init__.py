"""jetnb inside JupyterLab: a server extension with jetnb's REST API (``{base_url}jetnb/api/``) and web pages
(``{base_url}jetnb/ui/``) as the Jupyter user (``mount.py``), and the sidebar's own API (``{base_url}jetnb/lab/``).

Installing jetnb enables it (``etc/jupyter/jupyter_server_config.d/jetnb.json``)
and installs the prebuilt frontend (``share/jupyter/labextensions/jetnb``);
labextension/README.md describes both.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .handlers import routes
from . import mount
from .lab import Lab


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jetnb.jupyter"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    lab = Lab.for_root(Path(serverapp.root_dir))
    base_url = serverapp.web_app.settings["base_url"]
    serverapp.web_app.settings.update(mount.settings(base_url, lab))
    serverapp.web_app.add_handlers(".*$", [*mount.routes(base_url), *routes(base_url, lab)])
    serverapp.log.info("jetnb: pages at %sjetnb/ui/, REST API at %sjetnb/api/, sidebar API at %sjetnb/lab/ "
                       "(store %s, run logs in %s)", base_url, base_url, base_url, lab.store_path, lab.runs_dir)
