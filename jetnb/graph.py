"""The flow of a workflow as a Mermaid flowchart: triggers → steps (guards as decisions) → result."""

from __future__ import annotations

from typing import Any

from .workflow import Workflow


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("<", "#lt;").replace(">", "#gt;") + '"'


def trigger_label(kind: str, spec: dict[str, Any]) -> str:
    if kind == "schedule":
        return f"schedule: {spec.get('cron')} ({spec.get('timezone')})"
    if kind == "interval":
        return f"every {spec.get('every'):g}s"
    if kind == "once":
        return f"once at {spec.get('at')}"
    if kind == "webhook":
        return f"webhook POST /hooks/{spec.get('name')} ({spec.get('auth')})"
    if kind == "data_change":
        source = spec.get("source") or {}
        where = source.get("sqlite") or source.get("file") or source.get("url")
        return f"data change in {where}"
    return kind


def mermaid(workflow: Workflow) -> str:
    """Mermaid source; guarded steps become yes/no decisions that fall through to the next step."""
    lines = ["flowchart TD"]
    lines.append(f"  start(({_label(workflow.name)}))")
    lines.append(f"  manual[/{_label('manual run')}/] --> start")
    for index, (kind, spec) in enumerate(workflow.config.triggers, start=1):
        lines.append(f"  t{index}[/{_label(trigger_label(kind, spec))}/] --> start")
    pending: list[tuple[str, str]] = [("start", "")]  # (node, edge label) waiting for the next node

    def connect(target: str) -> None:
        lines.extend(f"  {src} -->{f'|{label}|' if label else ''} {target}" for src, label in pending)

    for cell in workflow.steps:
        node = f"c{cell.number}"
        shape = f"[[{_label('result')}]]" if cell.role == "result" else f"[{_label(cell.step_name)}]"
        lines.append(f"  {node}{shape}")
        when = cell.header.get("when") if cell.header else None
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
    return "\n".join(lines) + "\n"
