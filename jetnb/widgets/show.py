"""``jetnb.show(workflow)``: a workflow at a glance in a notebook — name, description, parameters, flow graph.

The graph is a ```` ```mermaid ```` block in Markdown, which JupyterLab 4
draws; the rest is plain Markdown so it also reads well as text.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..model.graph import mermaid
from ..model.workflow import Workflow


def overview(workflow: Workflow) -> str:
    """The Markdown that ``show`` displays."""
    lines = [f"### {workflow.name}", ""]
    if workflow.description:
        lines += [workflow.description, ""]
    lines += [f"`{workflow.path}`", ""]
    if workflow.parameters:
        lines += ["| parameter | type | default | help |", "|---|---|---|---|"]
        for p in workflow.parameters:
            default = json.dumps(p.default) if p.literal_default else p.default
            lines.append(f"| `{p.name}` | {_cell(str(p.type))} | `{_cell(default)}` | {_cell(p.help)} |")
    else:
        lines.append("no parameters")
    if workflow.problems:
        lines += ["", "**problems** (`jetnb check` reports the same):", ""]
        lines += [f"- {_cell(str(problem))}" for problem in workflow.problems]
    lines += ["", "```mermaid", mermaid(workflow).rstrip(), "```"]
    return "\n".join(lines) + "\n"


def show(workflow: str | Path | Workflow) -> None:
    """Display a workflow (a notebook path or a loaded ``Workflow``) in the notebook."""
    from IPython.display import Markdown, display

    loaded = workflow if isinstance(workflow, Workflow) else Workflow.load(workflow)
    display(Markdown(overview(loaded)))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
