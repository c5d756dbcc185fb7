"""The workflow's flow drawn as SVG on the server: triggers → steps (guards, iterators, gates) → result → handlers.

Workflows are sequences with optional steps, so a vertical chain says it
all without a layout engine or JavaScript: each guarded step has a ``no``
bypass on its right, handlers hang off dashed edges further right. The same
facts as ``jetnb graph`` (Mermaid), from the same labels.
"""

from __future__ import annotations

from html import escape

from ..model.graph import step_label, trigger_label
from ..model.reactions import reaction_targets, step_targets
from ..model.workflow import Workflow

WIDTH, CENTER, BOX_W, LINE_H, GAP = 720, 250, 300, 16, 26
HANDLER_X = 470


def _text(x: float, y: float, text: str, *, size: int = 13, weight: str = "normal", anchor: str = "middle",
          color: str = "#222") -> str:
    shown = text if len(text) <= 52 else text[:51] + "…"
    return (f'<text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" text-anchor="{anchor}" '
            f'fill="{color}">{escape(shown)}</text>')


def _box(y: float, lines: list[str], *, fill: str, stroke: str, rx: int = 6) -> tuple[str, float]:
    height = 14 + LINE_H * len(lines)
    parts = [f'<rect x="{CENTER - BOX_W / 2}" y="{y}" width="{BOX_W}" height="{height}" rx="{rx}" '
             f'fill="{fill}" stroke="{stroke}"/>']
    for index, line in enumerate(lines):
        parts.append(_text(CENTER, y + 20 + index * LINE_H, line, weight="bold" if index == 0 else "normal",
                           size=13 if index == 0 else 11, color="#222" if index == 0 else "#555"))
    return "".join(parts), height


def _arrow(x1: float, y1: float, x2: float, y2: float, *, dashed: bool = False, label: str = "") -> str:
    dash = ' stroke-dasharray="5,4"' if dashed else ""
    svg = (f'<line x1="{x1}" y1="{y1}" x2="{x2}" y2="{y2}" stroke="#777" stroke-width="1.4"{dash} '
           f'marker-end="url(#arrow)"/>')
    if label:
        svg += _text(x1 + 6, y1 - 4, label, size=11, anchor="start", color="#777")
    return svg


def _place(handlers: dict[str, float], ref: str, y: float) -> None:
    """A handler or action box at the height of what starts it, below the boxes placed before (they never overlap)."""
    if ref not in handlers:
        handlers[ref] = max([y, *(placed + 34 for placed in handlers.values())])


def render(workflow: Workflow) -> str:
    """A standalone ``<svg>`` element; every text comes from the notebook and is escaped."""
    out: list[str] = []
    y = 10.0
    triggers = ["manual run"] + [trigger_label(name, spec) for name, spec in workflow.config.triggers]
    for label in triggers:
        box, height = _box(y, [label], fill="#eef4ff", stroke="#7aa2e3", rx=14)
        out.append(box)
        y += height + 6
    out.append(_arrow(CENTER, y - 6, CENTER, y + GAP - 8))
    y += GAP
    handlers: dict[str, float] = {}
    for cell in workflow.steps:
        options = cell.header.options if cell.header else {}
        top = y
        if options.get("when"):
            out.append(_text(CENTER - BOX_W / 2, y + 12, f"when {options['when']}", size=11, color="#8a5a00",
                             anchor="start"))
            y += 18
        is_result = cell.role == "result"
        box, height = _box(y, ["result"] if is_result else step_label(cell),
                           fill="#f3f3f3" if is_result else ("#fff7e6" if options.get("approve") else "#ffffff"),
                           stroke="#999" if is_result else "#555", rx=12 if is_result else 4)
        out.append(box)
        if options.get("when"):
            side = CENTER + BOX_W / 2 + 18
            bottom = y + height + GAP - 6
            out.append(f'<path d="M{CENTER + BOX_W / 2},{top + 8} H{side} V{bottom} H{CENTER + 4}" fill="none" '
                       f'stroke="#b08a3a" stroke-dasharray="4,3"/>')
            out.append(_text(side + 4, top + height / 2 + 12, "no", size=11, anchor="start", color="#b08a3a"))
        for on, label in (("error", "on error"), ("success", "on success")):
            for ref in step_targets(options, on):
                _place(handlers, ref, y + height / 2)
                out.append(_arrow(CENTER + BOX_W / 2, y + height / 2, HANDLER_X, handlers[ref] + 8, dashed=True,
                                  label=label))
        y += height
        out.append(_arrow(CENTER, y, CENTER, y + GAP - 4))
        y += GAP
    out.append(f'<circle cx="{CENTER}" cy="{y + 12}" r="12" fill="#ddd" stroke="#777"/>')
    out.append(_text(CENTER + 20, y + 16, "end", size=11, anchor="start", color="#555"))
    for key, label in (("on_error", "run failed"), ("on_success", "run succeeded")):
        for ref in reaction_targets(workflow.config.values.get(key)):
            _place(handlers, ref, y)
            out.append(_arrow(CENTER + 12, y + 12, HANDLER_X, handlers[ref] + 8, dashed=True, label=label))
    for ref, hy in handlers.items():
        out.append(f'<rect x="{HANDLER_X}" y="{hy - 6}" width="230" height="28" rx="10" fill="#fdecea" '
                   f'stroke="#d9534f"/>')
        out.append(_text(HANDLER_X + 115, hy + 12, ref if ref.startswith("action ") else f"handler {ref}", size=12))
    height = max([y, *handlers.values()]) + 36
    return (f'<svg xmlns="http://www.w3.org/2000/svg" class="flow" width="{WIDTH}" height="{height:.0f}" '
            f'viewBox="0 0 {WIDTH} {height:.0f}" font-family="system-ui, sans-serif">'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
            'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#777"/></marker></defs>'
            + "".join(out) + "</svg>")
