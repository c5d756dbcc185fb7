"""A workflow notebook read without running it: its config, parameters, steps, handlers and result cell.

``Workflow.load`` never raises, whatever the file holds; it collects every
``Problem`` (file, cell, message) so ``jetnb check`` can report them all and
``jetnb run`` and ``jetnb serve`` refuse the same notebooks with the same
words: unreadable files, nbformat schema violations, headers, the
``%%workflow`` YAML and its triggers' ``params``, the parameters cell, and
code that would not compile.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from ..triggers.registry import kind as trigger_kind
from .cell_code import magic_problem, syntax_problem
from .config import WorkflowConfig, parse_workflow_config
from .headers import MAGICS, Header, HeaderError, parse_header, split_cell
from .notebook_file import UnreadableNotebook, parse_notebook_json, read_notebook_bytes
from .notebook_shape import cell_source, cell_tags, cell_type, kernelspec_field, shape_problems
from .params import Parameter, ParameterError, coerce_params, parse_parameters, typed
from .reactions import declared_template_problems, handler_of, named_calls
from .schema import schema_problems
from .secret_calls import secret_calls

SETUP_LINES = {"%load_ext jetnb", "%reload_ext jetnb"}
Report = Callable[[int | None, str], None]  # collects a problem: (cell number or None, message)
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
    def body_line(self) -> int:
        """The cell's line (1-based, as people count) on which ``body`` starts: after blank lines and the header."""
        if self.header is None:
            return 1
        return len(self.source) - len(self.source.lstrip("\n")) + 2

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
    def load(cls, path: str | Path, data: bytes | None = None, *, resolved: bool = False) -> Workflow:
        """Read and statically validate a notebook; problems are collected, never raised. ``data``: its bytes, when
        the caller has read them already (the catalog hashes them); ``resolved``: ``path`` is already absolute, with
        no symbolic link (the catalog's), so it is not resolved again.

        A run reads its notebook several times (the CLI, the run service, its
        notifications), and a 400-cell notebook takes tens of milliseconds to
        validate: the model of the same bytes at the same path is reused
        (``_Recent``). Callers treat the model as read-only.
        """
        path = Path(path)
        try:
            data = read_notebook_bytes(path) if data is None else data
        except UnreadableNotebook as exc:
            return cls._broken(path, str(exc))
        key = (str(path) if resolved else os.path.realpath(path), hashlib.blake2b(data, digest_size=16).digest())
        known = _RECENT.get(key)
        if known is not None and known.path == path:
            return known
        if known is not None and not known.problems:  # the same file named another way: the caller's name
            return replace(known, path=path)
        try:
            raw = parse_notebook_json(data)
        except UnreadableNotebook as exc:
            return cls._broken(path, str(exc))
        return _RECENT.put(key, cls.from_dict(raw, path))

    @classmethod
    def _broken(cls, path: Path, message: str) -> Workflow:
        return cls(path, path.stem, WorkflowConfig(), [], [], [Problem(str(path), None, message)])

    @classmethod
    def from_dict(cls, raw: Any, path: Path, *, full: bool = True) -> Workflow:
        """The model of a notebook's parsed JSON (any JSON value: a list, a number or a broken dict is a problem).

        ``full=False`` skips nbformat's schema check (and its import) and compiling the code cells: a quick look,
        e.g. at the kernel and the secrets a notebook names before it is validated for real, or at the steps of a
        notebook that was."""
        if not isinstance(raw, dict) or not isinstance(raw.get("cells"), list):
            return cls._broken(path, "not a notebook: no list of cells")
        problems: list[Problem] = []

        def problem(number: int | None, message: str) -> None:
            problems.append(Problem(str(path), number, message))

        found = shape_problems(raw)
        if full and raw.get("nbformat") == 4:  # notebook-level shape problems are about metadata once nbformat is 4
            found += schema_problems(raw, {number for number, _ in found if number},
                                     any(number is None for number, _ in found))
        for number, message in found:
            problem(number, message)
        cells, config, parameters, parameters_ok = cls._read_cells(raw["cells"], problem)
        if full and cls._is_python(raw):
            cls._check_code(cells, problem)
        if parameters_ok:
            cls._check_trigger_params(config, parameters, next((c.number for c in cells if c.role == "workflow"), None),
                                      problem)
        name = config.values.get("name") or path.stem
        workflow = cls(path, name, config, parameters, cells, problems, cls._kernel(raw, config))
        workflow._check_references()
        workflow._check_declared_actions(parameters_ok)
        workflow.problems.sort(key=lambda p: p.cell or 0)
        return workflow

    @classmethod
    def _read_cells(
        cls, raw_cells: list[Any], problem: Report
    ) -> tuple[list[Cell], WorkflowConfig, list[Parameter], bool]:
        """Every cell with its role and header; the config and parameters they declare; whether the parameters
        cell (if any) could be read."""
        cells: list[Cell] = []
        config: WorkflowConfig | None = None
        parameters, parameters_ok = [], True
        seen_roles: dict[str, int] = {}
        for number, rawcell in enumerate(raw_cells, start=1):
            source = cell_source(rawcell)
            cell = Cell(number, cell_type(rawcell) or "invalid", source, cls.role_of(rawcell), tags=cell_tags(rawcell))
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
                    parameters_ok = False
                    problem(number, f"parameters cell: {exc}")
                continue
            split = split_cell(source) if cell.role in MAGICS else None  # a code cell: markdown is never a header
            if split is None:
                continue
            kind, line, body = split
            try:
                cell.header = parse_header(kind, line)
            except HeaderError as exc:
                for message in exc.problems:
                    problem(number, message)
                cell.header = Header(kind, exc.name)
            if kind == "workflow":
                config, config_problems = parse_workflow_config(body)
                for message in config_problems:
                    problem(number, f"%%workflow: {message}")
        if config is None:  # no %%workflow cell: the defaults
            config = parse_workflow_config("")[0]
        return cells, config, parameters, parameters_ok

    @staticmethod
    def _is_python(raw: dict[str, Any]) -> bool:
        """Code is compiled only for Python kernels (a notebook that names another language is that kernel's)."""
        language = kernelspec_field(raw, "language")
        return language is None or language.lower() == "python"

    @staticmethod
    def _check_code(cells: list[Cell], problem: Report) -> None:
        """Each step, handler and result body must compile as IPython compiles it; near misses of jetnb's magics
        (``%%stepp``) would otherwise fail only when the run reaches them."""
        for cell in cells:
            if cell.role not in ("step", "handler", "result"):
                continue
            misspelled = magic_problem(cell.source) if cell.header is None else None
            if misspelled:
                problem(cell.number, misspelled)
                continue
            found = syntax_problem(cell.body, cell.body_line, top_level_await=cell.header is None)
            if found:
                problem(cell.number, found)

    @staticmethod
    def _check_trigger_params(config: WorkflowConfig, parameters: list[Parameter], cell: int | None,
                              problem: Report) -> None:
        """Each trigger's ``params`` go through the one validator, as typed values (YAML chose their types); keys
        that name parameters (a webhook's ``payload``) name declared ones of the right type; a ``Secret``
        parameter's value cannot be written in the notebook."""
        declared = {p.name: p.type.base for p in parameters}
        secret = {name for name, base in declared.items() if base == "secret"}
        for index, (name, spec) in enumerate(config.triggers):
            try:
                coerce_params(parameters, typed(spec.get("params") or {}))
            except ParameterError as exc:
                for message in exc.problems:
                    problem(cell, f"%%workflow: triggers[{index}].{name}.params: {message}")
            for given in sorted(secret & set(spec.get("params") or {})):
                problem(cell, f"%%workflow: triggers[{index}].{name}.params: parameter {given!r} is a Secret: its "
                              "value cannot be written in the notebook (declare a secret under `secrets:` instead)")
            for message in trigger_kind(name).parameter_problems(spec, declared):
                problem(cell, f"%%workflow: triggers[{index}].{name}.{message}")

    @staticmethod
    def role_of(cell: Any) -> str:
        """What a raw notebook cell is to jetnb; the runner and the engine use this same rule (it never raises)."""
        kind = cell_type(cell)
        if kind is None:
            return "invalid"
        if kind != "code":
            return kind
        tags = cell_tags(cell)
        if "parameters" in tags:
            return "parameters"
        if "injected-parameters" in tags:
            return "injected-parameters"
        if RUN_HANDLER_TAG in tags:
            return "run-handler"
        source = cell_source(cell)
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
        return kernelspec_field(raw, "name")

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
        self._check_secret_calls()
        uses_magics = any(c.role in ("workflow", "step", "handler", "result") for c in self.cells)
        first_magic = next((c.number for c in self.cells if c.role in ("workflow", "step", "handler", "result")), None)
        setup = next((c.number for c in self.cells if c.role == "setup"), None)
        if uses_magics and setup is not None and first_magic is not None and setup > first_magic:
            self.problems.append(Problem(str(self.path), setup,
                                         f"%load_ext jetnb must come before the first jetnb cell (cell {first_magic})"))

    def _check_secret_calls(self) -> None:
        """Every ``jetnb.secret("NAME")`` written in a cell must read a secret the ``%%workflow`` cell declares."""
        declared = set(self.config.values.get("secrets") or ())
        for cell in self.cells:
            for name in secret_calls(cell.source) if cell.cell_type == "code" else ():
                if name not in declared:
                    self.problems.append(Problem(str(self.path), cell.number,
                                                 f"jetnb.secret({name!r}) reads a secret the workflow does not "
                                                 f"declare: add {name} to `secrets:` in the %%workflow cell"))

    def _check_handler_refs(self) -> None:
        """Every handler a step or the workflow names must exist: a %%handler cell or a notebook file."""
        refs: list[tuple[int | None, str, str]] = []
        workflow_cell = next((c.number for c in self.cells if c.role == "workflow"), None)
        for key in ("on_error", "on_success", "on_pause"):
            ref = handler_of(self.config.values.get(key))
            if ref:
                refs.append((workflow_cell, f"%%workflow {key}", ref))
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

    def _check_declared_actions(self, parameters_ok: bool) -> None:
        """Steps name actions that ``actions:`` declares; every template fills from fields its event has."""
        blocks = named_calls(self.config.values)
        uses: dict[str, set[str]] = {}
        for cell in self.cells:
            if cell.role != "step" or cell.header is None:
                continue
            for option in ("on_error_action", "on_success_action"):
                for name in cell.header.get(option) or []:
                    if name in blocks:
                        uses.setdefault(name, set()).add(option)
                    else:
                        flag = "--" + option.replace("_", "-")
                        self.problems.append(Problem(str(self.path), cell.number, f"{cell.header.where}: {flag}: no "
                                                     f"action {name!r} under actions: in %%workflow"))
        workflow_cell = next((c.number for c in self.cells if c.role == "workflow"), None)
        parameters = [p.name for p in self.parameters] if parameters_ok else None
        for message in declared_template_problems(self.config.values, parameters, uses):
            self.problems.append(Problem(str(self.path), workflow_cell, f"%%workflow: {message}"))


class _Recent:
    """The models of the last few notebooks loaded, by (path, digest of the bytes): a changed file is a new key."""

    SIZE = 32

    def __init__(self) -> None:
        self._models: OrderedDict[tuple[str, bytes], Workflow] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, bytes]) -> Workflow | None:
        with self._lock:
            model = self._models.get(key)
            if model is not None:
                self._models.move_to_end(key)
            return model

    def put(self, key: tuple[str, bytes], model: Workflow) -> Workflow:
        with self._lock:
            self._models[key] = model
            while len(self._models) > self.SIZE:
                self._models.popitem(last=False)
        return model


_RECENT = _Recent()
