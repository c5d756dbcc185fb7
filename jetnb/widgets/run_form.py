"""``RunForm``: a form built from the parameters cell; bad values are reported next to their field."""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..model.params import Parameter, ParameterError, coerce_params
from ..model.workflow import Workflow
from ..client import Client, LocalClient
from .status import OnFinished, RunStatus, clip

_OMIT = object()  # an empty field whose default the kernel computes: leave the parameter out
_SCALAR_INPUTS = {"int": widgets.IntText, "float": widgets.FloatText, "bool": widgets.Checkbox, "str": widgets.Text}


class ParamField(widgets.HBox):
    """One parameter: its input (chosen by declared type), then its help or, after a bad value, the error."""

    def __init__(self, param: Parameter, label_width: str):
        self.param = param
        self.input = _input_for(param)
        self.input.description = param.name
        self.input.tooltip = param.help or str(param.type)
        self.input.style.description_width = label_width
        self.message = widgets.HTML()
        self.show_error(None)
        super().__init__([self.input, self.message])

    def raw_value(self) -> Any:
        """The value as typed, before validation; empty means None for Optional types."""
        value = self.input.value
        if isinstance(value, str) and not value.strip():
            if not self.param.literal_default:
                return _OMIT
            if self.param.type.optional or self.param.type.base == "secret":
                return None
        return value

    def show_error(self, error: str | None) -> None:
        if error:
            short = clip(" ".join(error.split()), 110)  # YAML errors run over several lines; the tooltip has all
            self.message.value = (f'<span style="color: var(--jp-error-color1, #c62828)" title="{html.escape(error)}">'
                                  f'✗ {html.escape(short)}</span>')
        else:
            note = html.escape(self.param.help)
            self.message.value = f'<span style="color: var(--jp-ui-font-color2, #666)">{note}</span>'


def _input_for(param: Parameter) -> widgets.ValueWidget:
    """int → IntText, float → FloatText, bool → Checkbox, str → Text, Secret → Password; Optional and list/dict/any
    take text."""
    base, optional = param.type.base, param.type.optional
    if not param.literal_default:
        return widgets.Text(placeholder=f"default: {param.default}")
    if base == "secret":  # typed hidden; the value is never shown again, the run keeps ***
        return widgets.Password(placeholder="secret (empty = None)")
    if base in _SCALAR_INPUTS and not optional:
        return _SCALAR_INPUTS[base](value=param.default)
    empty = "empty = None" if optional else ""
    if base in ("list", "dict", "any"):
        text = "" if param.default is None else json.dumps(param.default, default=str)
        return widgets.Textarea(value=text, placeholder=f"JSON or YAML; {empty}".rstrip("; "), rows=2)
    return widgets.Text(value="" if param.default is None else str(param.default), placeholder=empty)


class RunForm(widgets.VBox):
    """Fields for the workflow's parameters, prefilled with defaults, and a Run button.

    On Run every field is validated with the same validator as the CLI; any
    error is shown next to its field and nothing starts. Valid values start
    a run (trigger ``widget``) that is followed live below the button.
    """

    def __init__(self, workflow: str | Path, label: str | None = None, *, store: str | Path | None = None,
                 runs_dir: str | Path | None = None, client: Client | None = None,
                 on_finished: OnFinished | None = None):
        self.workflow = Path(workflow)
        self.client = client or LocalClient(store, runs_dir)
        loaded = Workflow.load(self.workflow)
        width = f"{max((len(p.name) for p in loaded.parameters), default=4) + 3}ch"
        self.fields = {p.name: ParamField(p, width) for p in loaded.parameters}
        self.button = widgets.Button(description=label or f"Run {loaded.name}", icon="play", button_style="primary")
        self.status = RunStatus(on_finished=on_finished)
        widgets.dlink((self.status, "busy"), (self.button, "disabled"))
        self.button.on_click(lambda _: self.submit())
        header = widgets.HTML(f"<b>{html.escape(loaded.name)}</b> {html.escape(loaded.description)}")
        super().__init__([header, *self.fields.values(), self.button, self.status])

    def values(self) -> dict[str, Any]:
        """The validated values of every field; raises ParameterError after marking each bad field."""
        values: dict[str, Any] = {}
        problems: list[str] = []
        for name, field in self.fields.items():
            raw = field.raw_value()
            if raw is _OMIT:
                field.show_error(None)
                continue
            try:
                values.update(coerce_params([field.param], {name: raw}))
                field.show_error(None)
            except ParameterError as exc:
                field.show_error(exc.problems[0].removeprefix(f"parameter {name!r}: "))
                problems.extend(exc.problems)
        if problems:
            raise ParameterError(problems)
        return values

    def submit(self) -> str | None:
        """What Run does: validate, then start and follow the run; returns its id, or None."""
        if self.status.busy:
            return None
        try:
            values = self.values()
        except ParameterError as exc:
            self.status.say(f"**✗ not started**: {len(exc.problems)} field{'s' if len(exc.problems) > 1 else ''}"
                            " to correct above")
            return None
        return self.status.start(self.client, self.workflow, values, {"widget": "RunForm"})
