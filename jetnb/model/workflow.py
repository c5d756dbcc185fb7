"""A workflow notebook read without running it: its config, parameters, steps, handlers and result cell.

``Workflow.load`` never raises on a bad notebook cell; it collects every
``Problem`` (file, cell, message) so ``jetnb check`` can report them all and
``jetnb run`` can refuse to start with the same words.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .config import WorkflowConfig, parse_workflow_config
from .headers import Header, HeaderError, parse_header, split_cell
from .params import Parameter, parse_parameters

SETUP_LINES = {"%load_ext jetnb", "%reload_ext jetnb"}
RUN_HANDLER_TAG = "jetnb-run-handler"  # the cell the runner appends for on_error / on_success


class WorkflowError(ValueError):
    """A notebook that cannot be run as a workflow; the message lists each problem with its cell."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = problems


@dataclass(frozen=True)
class Problem:
    path: str
    cell: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.path}: cell {self.cell}" if self.cell else self.path
        return f"{where}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "cell": self.cell, "message": self.message}


@dataclass
class Cell:
    """A notebook cell as jetnb sees it; ``number`` is 1-based over all cells, as people count them."""

    number: int
    cell_type: str
    source: str
    role: str  # markdown | raw | empty | setup | workflow | parameters | step | handler | result
    header: Header | None = None
    tags: tuple[str, ...] = ()

    @property
    def body(self) -> str:
        """The source without its header line (the whole source for cells without one)."""
        split = split_cell(self.source) if self.header is not None else None
        return split[2] if split else self.source

    @property
    def step_name(self) -> str:
        if self.role == "result":
            return "result"
        if self.header is not None and self.header.name:
            return self.header.name
        return f"cell-{self.number}"


@dataclass
class Workflow:
    path: Path
    name: str
    config: WorkflowConfig
    parameters: list[Parameter]
    cells: list[Cell]
    problems: list[Problem] = field(default_factory=list)
    kernel_name: str | None = None

    @property
    def steps(self) -> list[Cell]:
        """Cells that run as steps, in order (the result cell is the last step when present)."""
        return [c for c in self.cells if c.role in ("step", "result")]

    @property
    def handlers(self) -> dict[str, Cell]:
        return {c.header.name: c for c in self.cells if c.role == "handler" and c.header and c.header.name}

    def handler_bodies(self) -> dict[str, str]:
        """What the kernel needs to run any handler, even one whose cell comes after the failing step."""
        return {name: cell.body for name, cell in self.handlers.items()}

    @property
    def description(self) -> str:
        return self.config.values.get("description") or ""

    def raise_for_problems(self) -> None:
        if self.problems:
            raise WorkflowError(self.problems)

    @classmethod
    def load(cls, path: str | Path) -> Workflow:
        """Read and statically validate a notebook; problems are collected, not raised."""
        path = Path(path)
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return cls._broken(path, "file not found")
        except (OSError, UnicodeDecodeError) as exc:
            return cls._broken(path, f"cannot read the file: {exc}")
        except json.JSONDecodeError as exc:
            return cls._broken(path, f"not a notebook: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
        return cls.from_dict(raw, path)

    @classmethod
    def _broken(cls, path: Path, message: str) -> Workflow:
        return cls(path, path.stem, WorkflowConfig(), [], [], [Problem(str(path), None, message)])

    @classmethod
    def from_dict(cls, raw: Any, path: Path) -> Workflow:
        if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
            return cls._broken(path, "not a notebook: no list of cells")
        problems: list[Problem] = []
        cells: list[Cell] = []
        config, parameters = parse_workflow_config("")[0], []  # a notebook without %%workflow gets the defaults
        seen_roles: dict[str, int] = {}

        def problem(number: int | None, message: str) -> None:
            problems.append(Problem(str(path), number, message))

        for number, rawcell in enumerate(raw["cells"], start=1):
            if not isinstance(rawcell, dict) or "cell_type" not in rawcell:
                problem(number, "not a notebook cell (no cell_type)")
                continue
            source = rawcell.get("source", "")
            source = "".join(source) if isinstance(source, list) else str(source)
            tags = tuple((rawcell.get("metadata") or {}).get("tags") or ())
            cell = Cell(number, rawcell["cell_type"], source, cls.role_of(rawcell), tags=tags)
            cells.append(cell)
            if cell.role in ("workflow", "result", "parameters"):
                if cell.role in seen_roles:
                    problem(number, f"a second {cls._describe(cell.role)} (the first is cell {seen_roles[cell.role]})")
                    continue
                seen_roles[cell.role] = number
            if cell.role == "parameters":
                try:
                    parameters = parse_parameters(source)
                except ValueError as exc:
                    problem(number, f"parameters cell: {exc}")
                continue
            split = split_cell(source)
            if split is None:
                continue
            kind, line, body = split
            try:
                cell.header = parse_header(kind, line)
            except HeaderError as exc:
                problem(number, str(exc))
                cell.header = Header(kind, exc.name)
            if kind == "workflow":
                config, config_problems = parse_workflow_config(body)
                for message in config_problems:
                    problem(number, f"%%workflow: {message}")
        name = config.values.get("name") or path.stem
        workflow = cls(path, name, config, parameters, cells, problems, cls._kernel(raw, config))
        workflow._check_references()
        workflow.problems.sort(key=lambda p: p.cell or 0)
        return workflow

    @staticmethod
    def role_of(cell: dict) -> str:
        """What a raw notebook cell is to jetnb; the runner and the engine use this same rule."""
        cell_type = cell.get("cell_type")
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        tags = (cell.get("metadata") or {}).get("tags") or ()
        if cell_type != "code":
            return str(cell_type)
        if "parameters" in tags:
            return "parameters"
        if "injected-parameters" in tags:
            return "injected-parameters"
        if RUN_HANDLER_TAG in tags:
            return "run-handler"
        stripped = source.strip()
        if not stripped:
            return "empty"
        if all(line.strip() in SETUP_LINES for line in stripped.splitlines()):
            return "setup"
        split = split_cell(source)
        return split[0] if split else "step"

    @staticmethod
    def _describe(role: str) -> str:
        return {"workflow": "%%workflow cell", "result": "%%result cell", "parameters": "cell tagged 'parameters'"}[role]

    @staticmethod
    def _kernel(raw: dict, config: WorkflowConfig) -> str | None:
        if config.values.get("kernel"):
            return config.values["kernel"]
        return ((raw.get("metadata") or {}).get("kernelspec") or {}).get("name")

    def _check_references(self) -> None:
        seen: dict[str, int] = {}
        for cell in self.cells:
            if cell.role not in ("step", "handler") or cell.header is None or not cell.header.name:
                continue
            key = f"{cell.role}:{cell.header.name}"
            if key in seen:
                self.problems.append(Problem(str(self.path), cell.number,
                                             f"duplicate {cell.role} name {cell.header.name!r} "
                                             f"(also cell {seen[key]})"))
            seen[key] = cell.number
        self._check_handler_refs()
        uses_magics = any(c.role in ("workflow", "step", "handler", "result") for c in self.cells)
        first_magic = next((c.number for c in self.cells if c.role in ("workflow", "step", "handler", "result")), None)
        setup = next((c.number for c in self.cells if c.role == "setup"), None)
        if uses_magics and setup is not None and first_magic is not None and setup > first_magic:
            self.problems.append(Problem(str(self.path), setup,
                                         f"%load_ext jetnb must come before the first jetnb cell (cell {first_magic})"))

    def _check_handler_refs(self) -> None:
        """Every handler a step or the workflow names must exist: a %%handler cell or a notebook file."""
        refs: list[tuple[int | None, str, str]] = []
        workflow_cell = next((c.number for c in self.cells if c.role == "workflow"), None)
        for key in ("on_error", "on_success", "on_pause"):
            if self.config.values.get(key):
                refs.append((workflow_cell, f"%%workflow {key}", self.config.values[key]))
        for cell in self.cells:
            if cell.role == "step" and cell.header is not None:
                for key in ("on_error", "on_success"):
                    if cell.header.get(key):
                        refs.append((cell.number, f"%%step {cell.header.name}: --{key.replace('_', '-')}",
                                     cell.header.get(key)))
        for number, where, ref in refs:
            if ref.endswith(".ipynb"):
                if not (self.path.parent / ref).is_file():
                    self.problems.append(Problem(str(self.path), number, f"{where}: no notebook {ref!r} next to "
                                                                         f"this one"))
            elif ref not in self.handlers:
                self.problems.append(Problem(str(self.path), number, f"{where}: no %%handler named {ref!r}"))
