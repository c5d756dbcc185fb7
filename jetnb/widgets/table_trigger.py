"""``TableTrigger``: a table whose rows each start a run with that row's values as parameters."""

from __future__ import annotations

import html
import json
import string
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import ipywidgets as widgets

from ..model.params import Parameter, ParameterError, coerce_params
from ..model.workflow import Workflow
from ..client import Client, LocalClient
from .status import OnFinished, RunStatus, clip

DEFAULT_CONFIRM = "Run {workflow} with {params}?"
LAST_RUNS_LOOKED_AT = 200  # how far back a row looks for its last run when the table is made


def table_rows(rows: Any) -> tuple[list[dict[str, Any]], list[str]]:
    """Rows as dicts and the column names in order, from a list of mappings or a pandas DataFrame."""
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):  # a DataFrame, without importing pandas
        records = [{str(k): v for k, v in r.items()} for r in rows.to_dict("records")]
        return records, [str(c) for c in rows.columns]
    records, columns = [], {}
    for index, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(f"row {index} is a {type(row).__name__}; give a list of dicts or a pandas DataFrame")
        records.append(dict(row))
        columns.update(dict.fromkeys(row))
    return records, list(columns)


class TableTrigger(widgets.VBox):
    """Each row has a ▶ button that runs the workflow with the row's values; the row shows its last run.

    ``params`` maps parameter names to column names (default: every column
    named like a parameter). ``confirm`` (True, or a template such as
    ``"Refund order {order_id}?"`` using column names, ``{workflow}`` and
    ``{params}``) asks before each run.
    """

    def __init__(self, rows: Any, workflow: str | Path, params: Mapping[str, str] | None = None,
                 confirm: bool | str | None = None, *, store: str | Path | None = None,
                 runs_dir: str | Path | None = None, client: Client | None = None,
                 on_finished: OnFinished | None = None):
        self.workflow = Path(workflow)
        self.client = client or LocalClient(store, runs_dir)
        loaded = Workflow.load(self.workflow)
        self.name = loaded.name
        declared = [p.name for p in loaded.parameters]
        self.rows, self.columns = table_rows(rows)
        self.mapping = dict(params) if params is not None else {c: c for c in self.columns if c in declared}
        self.confirm = DEFAULT_CONFIRM if confirm is True else (confirm or None)
        self._check(declared)
        self.buttons = [widgets.Button(description="Run", icon="play", tooltip=f"run {self.name} with this row",
                                       layout=widgets.Layout(width="auto")) for _ in self.rows]
        self.statuses = [RunStatus(compact=True, on_finished=on_finished) for _ in self.rows]
        for index, (button, status) in enumerate(zip(self.buttons, self.statuses)):
            widgets.dlink((status, "busy"), (button, "disabled"))
            button.on_click(lambda _, i=index: self.click_row(i))
        self._pending: int | None = None
        self.question = widgets.HTML()
        yes = widgets.Button(description="Run", button_style="primary", layout=widgets.Layout(width="auto"))
        no = widgets.Button(description="Cancel", layout=widgets.Layout(width="auto"))
        yes.on_click(lambda _: self.answer(True))
        no.on_click(lambda _: self.answer(False))
        self.prompt = widgets.HBox([self.question, yes, no], layout=widgets.Layout(display="none"))
        super().__init__([self._grid(), self.prompt])
        self._show_last_runs(loaded.parameters)

    def _check(self, declared: list[str]) -> None:
        problems = [f"no column {c!r} (for parameter {p!r})" for p, c in self.mapping.items() if c not in self.columns]
        problems += [f"{p!r} is not a parameter of {self.name} (declared: {', '.join(declared) or 'none'})"
                     for p in self.mapping if p not in declared]
        if self.confirm:
            known = {*self.columns, "workflow", "params"}
            fields = {f for _, f, _, _ in string.Formatter().parse(self.confirm) if f}
            problems += [f"confirm message: no column {f!r}" for f in sorted(fields - known)]
        if problems:
            raise ValueError("; ".join(problems))

    def _show_last_runs(self, declared: list[Parameter]) -> None:
        """Each row starts with the newest recorded run that had exactly the row's parameters, from any trigger."""
        runs = self.client.list_runs(self.name, LAST_RUNS_LOOKED_AT)
        for index, status in enumerate(self.statuses):
            try:
                params = coerce_params(declared, self.params_for(index))
            except ParameterError:
                continue
            last = next((run for run in runs if run["params"] == params), None)
            if last is not None:
                status.show(last, self.client)

    def _grid(self) -> widgets.GridBox:
        header = [widgets.HTML("")] + [widgets.HTML(f"<b>{html.escape(c)}</b>") for c in self.columns]
        cells: list[widgets.Widget] = [*header, widgets.HTML("<b>last run</b>")]
        for row, button, status in zip(self.rows, self.buttons, self.statuses):
            cells.append(button)
            cells.extend(widgets.Label(clip(str(row.get(c, "")), 40)) for c in self.columns)
            cells.append(status)
        columns = f"max-content repeat({len(self.columns)}, max-content) minmax(16em, 1fr)"
        return widgets.GridBox(cells, layout=widgets.Layout(grid_template_columns=columns, grid_gap="2px 12px",
                                                            align_items="center"))

    def params_for(self, index: int) -> dict[str, Any]:
        """The parameters a row gives its run (a column missing from the row leaves the default)."""
        row = self.rows[index]
        return {param: row[column] for param, column in self.mapping.items() if column in row}

    def click_row(self, index: int) -> str | None:
        """What a row's button does: ask first when ``confirm`` is set, else start the run."""
        if not self.confirm:
            return self._start(index)
        self._pending = index
        values = {**self.rows[index], "workflow": self.name, "params": json.dumps(self.params_for(index))}
        self.question.value = html.escape(self.confirm.format_map(values))
        self.prompt.layout.display = "flex"
        return None

    def answer(self, run: bool) -> str | None:
        """The reply to the confirm question: run the pending row, or drop it."""
        index, self._pending = self._pending, None
        self.prompt.layout.display = "none"
        return self._start(index) if run and index is not None else None

    def _start(self, index: int) -> str | None:
        return self.statuses[index].start(self.client, self.workflow, self.params_for(index),
                                          {"widget": "TableTrigger", "row": index})

