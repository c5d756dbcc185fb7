"""How the kernel side reports: each ``jetnb.protocol`` event is displayed under its MIME type with a status line.

A person in JupyterLab sees the line; the runner's engine reads the JSON.
Outside IPython (an action called from a plain script) there is no one to
report to, and nothing is displayed.
"""

from __future__ import annotations

from typing import Any

from ..protocol import Event, bundle


def emit(event: Event, text: str | None = None, *, keep: bool = False) -> Any:
    """Display ``event``; with ``keep`` returns a handle whose ``update`` replaces it in place (a step's line)."""
    from IPython import get_ipython
    from IPython.display import display

    if get_ipython() is None:
        return None
    return display(bundle(event, text), raw=True, display_id=True if keep else None)
