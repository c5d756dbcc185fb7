"""The flow of a workflow as a Mermaid flowchart: triggers → steps (guards as decisions) → result."""

from __future__ import annotations

from typing import Any

from ..durations import format_duration
from ..triggers.registry import UnknownTrigger, kind
from .reactions import reaction_targets, step_targets
from .workflow import Cell, Workflow


def _label(*lines: str) -> str:
    """A quoted Mermaid label; text is escaped so notebook content cannot break the chart."""
    escaped = (line.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;") for line in lines)
    return '"' + "<br/>".join(escaped) + '"'


def trigger_label(name: str, spec: dict[str, Any]) -> str:
    """The kind's own label; a kind that is not installed shows its name."""
    try:
        return kind(name).label(spec)
    except UnknownTrigger:
        return name


def handler_node(ref: str) -> str:
    return "h_" + "".join(ch if ch.isalnum() else "_" for ch in ref)


def _handler_shape(ref: str) -> str:
    """A notebook as a parallelogram, an action as a flag, a ``%%handler`` as a hexagon."""
    if ref.endswith(".ipynb"):
        return f"[/{_label(ref)}/]"
    if ref.startswith("action "):
        return f">{_label(ref)}]"
    return f"{{{{{_label('handler ' + ref)}}}}}"


def step_label(cell: Cell) -> list[str]:
    """The step's name plus what shapes how it runs: iterator, retries, timeout, delay."""
    options = cell.header.options if cell.header else {}
    parts = [cell.step_name]
    if options.get("for_each"):
        each = f"for each {options.get('as', 'item')} in {options['for_each']}"
        if options.get("parallel"):
            each += f" (parallel {options['parallel']})"
        if options.get("skip_failures"):
            each += ", skip failures"
        parts.append(each)
    if options.get("approve"):
        parts.append(f"approval by {', '.join(options['approve'])}")
    extras = [f"{key.replace('_', ' ')} {format_duration(options[key]) if key != 'retries' else options[key]}"
              for key in ("retries", "timeout", "delay") if options.get(key)]
    if options.get("continue_on_error"):
        extras.append("continue on error")
    if extras:
        parts.append(", ".join(extras))
    return parts


def mermaid(workflow: Workflow) -> str:
    """Mermaid source; guarded steps become yes/no decisions that fall through to the next step."""
    lines = ["flowchart TD"]
    lines.append(f"  start(({_label(workflow.name)}))")
    lines.append(f"  manual[/{_label('manual run')}/] --> start")
    for index, (name, spec) in enumerate(workflow.config.triggers, start=1):
        lines.append(f"  t{index}[/{_label(trigger_label(name, spec))}/] --> start")
    pending: list[tuple[str, str]] = [("start", "")]  # (node, edge label) waiting for the next node
    handlers: set[str] = set()

    def connect(target: str) -> None:
        lines.extend(f"  {src} -->{f'|{label}|' if label else ''} {target}" for src, label in pending)

    for cell in workflow.steps:
        node = f"c{cell.number}"
        shape = f"[[{_label('result')}]]" if cell.role == "result" else f"[{_label(*step_label(cell))}]"
        lines.append(f"  {node}{shape}")
        options = cell.header.options if cell.header else {}
        for on, label in (("error", "on error"), ("success", "on success")):
            for ref in step_targets(options, on):
                lines.append(f"  {node} -.->|{label}| {handler_node(ref)}")
                handlers.add(ref)
        when = options.get("when")
        if when:
            guard = f"g{cell.number}"
            lines.append(f"  {guard}{{{_label(when)}}}")
            connect(guard)
            lines.append(f"  {guard} -->|yes| {node}")
            pending = [(node, ""), (guard, "no")]
        else:
            connect(node)
            pending = [(node, "")]
    lines.append("  done((end))")
    connect("done")
    for key, label in (("on_error", "run failed"), ("on_success", "run succeeded"), ("on_pause", "paused")):
        for ref in reaction_targets(workflow.config.values.get(key)):
            lines.append(f"  done -.->|{label}| {handler_node(ref)}")
            handlers.add(ref)
    for ref in sorted(handlers):
        lines.append(f"  {handler_node(ref)}{_handler_shape(ref)}")
    return "\n".join(lines) + "\n"
