"""The parameters cell: declared names, types, defaults and help, and how trigger values are checked against them.

Every trigger (CLI, parameters file, webhook, API, widget, schedule) goes
through ``coerce_params`` so a value means the same thing whichever way it
arrives. Two kinds of source exist:

- **text** (``-p``, query strings, form fields): a plain ``str`` is parsed by
  the declared type; a ``list``/``dict`` is JSON or YAML without anchors;
- **typed** (JSON bodies, the ``-f`` file, trigger ``params``): the sender
  chose the type, so the value must fit as it is; wrap it with ``typed()``
  so that a quoted ``"3"`` stays text and is refused for an ``int``.

Whatever the source, a value must be JSON: text keys, no dates, bytes, sets,
NaN or infinities, integers within 64 bits, at most ``MAX_VALUE_BYTES`` and
``MAX_DEPTH`` levels (``json_values``).
"""

from __future__ import annotations

import ast
import difflib
import io
import re
import tokenize
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from ..quoting import clipped, shown
from .datatext import TextError, load_json, load_json_or_yaml, load_yaml
from .json_values import MAX_VALUE_BYTES, bounded_int, json_value

BASE_TYPES = ("int", "float", "bool", "str", "list", "dict", "any", "secret")
_TEXT = ("str", "secret")  # a Secret is text that travels apart from the others (jetnb.secrets) and may be None
_ALIASES = {"List": "list", "Dict": "dict", "Any": "any", "object": "any", "Sequence": "list",
            "Mapping": "dict", "tuple": "list", "Tuple": "list", "Secret": "secret"}
_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}
_NONE = {"none", "null", "~", ""}
_INT_TEXT = re.compile(r"[+-]?[0-9]{1,19}")
_FLOAT_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]{1,4})?")
MAX_FILE_BYTES = 4 * 1024 * 1024  # a -f parameters file


class ParameterError(ValueError):
    """Values that do not fit the parameters cell; ``problems`` lists each one by name."""

    def __init__(self, problems: list[str], unknown: tuple[str, ...] = ()):
        super().__init__("; ".join(problems))
        self.problems = problems
        self.unknown = unknown  # names given that the notebook does not declare (papermill only warns of them)

    @property
    def fields(self) -> dict[str, str]:
        """Each declared parameter's own problem, for forms that show it next to the field."""
        return parameter_fields(self.problems)


_PARAMETER_PROBLEM = re.compile(r"^parameter '([^']+)': (.*)$", re.DOTALL)


def parameter_fields(problems: list[str]) -> dict[str, str]:
    """``{"times": "expected int, got 'two'"}`` from ``["parameter 'times': expected int, got 'two'"]``."""
    return {m.group(1): m.group(2) for m in map(_PARAMETER_PROBLEM.match, problems) if m}


@dataclass(frozen=True)
class ParamType:
    base: str
    optional: bool = False

    def __str__(self) -> str:
        return f"Optional[{self.base}]" if self.optional else self.base


@dataclass(frozen=True)
class Parameter:
    name: str
    type: ParamType
    default: Any
    help: str = ""
    line: int = 0
    literal_default: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "type": str(self.type), "default": self.default if self.literal_default else None,
                "default_source": None if self.literal_default else self.default, "help": self.help}


def _annotation_type(node: ast.expr) -> ParamType:
    """Map an annotation AST to a ParamType; ValueError for what jetnb cannot check."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return _annotation_type(ast.parse(node.value, mode="eval").body)
    if isinstance(node, ast.Name):
        base = _ALIASES.get(node.id, node.id)
        if base not in BASE_TYPES:
            raise ValueError(f"unsupported type {node.id!r} (use int, float, bool, str, list, dict, Secret or "
                             "Optional[...])")
        return ParamType(base)
    if isinstance(node, ast.Attribute):
        return _annotation_type(ast.Name(node.attr))
    if isinstance(node, ast.Subscript):
        outer = node.value.attr if isinstance(node.value, ast.Attribute) else getattr(node.value, "id", "")
        if outer == "Optional":
            return ParamType(_annotation_type(node.slice).base, optional=True)
        if outer == "Union":
            items = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
            return _union(items)
        return _annotation_type(ast.Name(outer))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        return _union([node.left, node.right])
    if isinstance(node, ast.Constant) and node.value is None:
        return ParamType("any", optional=True)
    raise ValueError(f"unsupported type annotation {ast.unparse(node)!r}")


def _union(items: list[ast.expr]) -> ParamType:
    types = [_annotation_type(i) for i in items]
    concrete = [t for t in types if not (t.base == "any" and t.optional)]
    optional = len(concrete) < len(types)
    if len(concrete) != 1:
        raise ValueError("unions other than X | None are not supported")
    return ParamType(concrete[0].base, optional=optional or concrete[0].optional)


def _infer_type(value: Any) -> ParamType:
    if value is None:
        return ParamType("any", optional=True)
    for base, py in (("bool", bool), ("int", int), ("float", float), ("str", str), ("list", (list, tuple)),
                     ("dict", dict)):
        if isinstance(value, py):
            return ParamType(base)
    return ParamType("any")


def _comments(source: str) -> dict[int, str]:
    found: dict[int, str] = {}
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                found[tok.start[0]] = tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return found


def parse_parameters(source: str) -> list[Parameter]:
    """Read a parameters cell without running it; ValueError names the line that is wrong."""
    try:
        with warnings.catch_warnings():  # SyntaxWarnings are the kernel's to show, when the cell runs
            warnings.simplefilter("ignore")
            tree = ast.parse(source)
    except (SyntaxError, ValueError) as exc:  # ValueError: a NUL byte, on some Pythons
        raise ValueError(f"line {getattr(exc, 'lineno', None) or 1}: syntax error: {getattr(exc, 'msg', exc)}") from None
    except (RecursionError, MemoryError):
        raise ValueError("the cell is nested too deeply to read") from None
    try:
        return _declared(tree, source)
    except (RecursionError, MemoryError):  # a default or annotation nested deeper than Python's compiler allows
        raise ValueError("the cell is nested too deeply to read") from None


def _declared(tree: ast.Module, source: str) -> list[Parameter]:
    comments = _comments(source)
    code_lines = {line for stmt in tree.body for line in range(stmt.lineno, (stmt.end_lineno or stmt.lineno) + 1)}
    params: dict[str, Parameter] = {}
    for stmt in tree.body:
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant) and isinstance(stmt.value.value, str):
            continue  # a docstring-like note
        if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
            name, annotation, value = stmt.target.id, stmt.annotation, stmt.value
        elif isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
            name, annotation, value = stmt.targets[0].id, None, stmt.value
        else:
            raise ValueError(
                f"line {stmt.lineno}: only assignments like `name: type = default  # help` belong in the "
                f"parameters cell, found `{clipped(ast.unparse(stmt).splitlines()[0], 80)}`"
            )
        if name in params:
            raise ValueError(f"line {stmt.lineno}: parameter {name!r} is declared twice")
        if value is None:
            raise ValueError(f"line {stmt.lineno}: parameter {name!r} needs a default value")
        literal = _literal(value)
        try:
            ptype = _annotation_type(annotation) if annotation is not None else (
                ParamType("any") if literal is _COMPUTED else _infer_type(literal))
        except (ValueError, SyntaxError) as exc:
            raise ValueError(f"line {stmt.lineno}: parameter {name!r}: {exc}") from None
        try:
            default, is_json = _default(ptype, value, literal)
        except ValueError as exc:
            raise ValueError(f"line {stmt.lineno}: parameter {name!r}: default {exc}") from None
        if ptype.base == "secret" and not (is_json and default is None):
            raise ValueError(f"line {stmt.lineno}: parameter {name!r}: a Secret's default must be None (a value "
                             "written in the notebook is not secret)")
        params[name] = Parameter(name, ptype, default, _help_for(stmt, comments, code_lines), stmt.lineno, is_json)
    return list(params.values())


_COMPUTED = object()  # a default that is not a literal: the kernel computes it
_PYTHON_TYPES: dict[str, type | tuple[type, ...]] = {"int": int, "float": (int, float), "bool": bool, "str": str,
                                                     "list": (list, tuple), "dict": dict, "secret": str}


def _literal(node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError):  # not a literal, or an unhashable key ({[1]: 2})
        return _COMPUTED


def _default(ptype: ParamType, node: ast.expr, literal: Any) -> tuple[Any, bool]:
    """The default and whether it is a JSON literal (checked against the type). Any other default (``date.today()``,
    ``b"x"``, ``{1, 2}``) is computed by the kernel and shown by its source; a literal must still be of the type."""
    if literal is _COMPUTED:
        return ast.unparse(node), False
    try:
        value = json_value(literal)
    except ValueError:
        if not _python_fits(ptype, literal):
            raise ValueError(f"expected {ptype}, got {type(literal).__name__} {shown(literal)}") from None
        return ast.unparse(node), False
    return _from_typed(ptype, value), True


def _python_fits(ptype: ParamType, value: Any) -> bool:
    if ptype.base == "any":
        return True
    if value is None:
        return ptype.optional
    if isinstance(value, bool) and ptype.base != "bool":
        return False
    return isinstance(value, _PYTHON_TYPES[ptype.base])


def _help_for(stmt: ast.stmt, comments: dict[int, str], code_lines: set[int]) -> str:
    """The trailing comment, or else a comment on its own line just above."""
    trailing = comments.get(stmt.end_lineno or stmt.lineno)
    if trailing:
        return trailing
    above = stmt.lineno - 1
    return comments.get(above, "") if above not in code_lines else ""


def coerce_params(declared: list[Parameter], given: Mapping[Any, Any]) -> dict[str, Any]:
    """Validate values against the parameters cell; every problem is collected, each naming its parameter.

    A plain ``str`` is text and is parsed by the declared type (``-p``, query
    strings, form fields); a ``Typed`` value (see ``typed``) or any other
    Python value must fit the type as it is.
    """
    by_name = {p.name: p for p in declared}
    problems: list[str] = []
    unknown: list[str] = []
    result: dict[str, Any] = {}
    for name, value in given.items():
        param = by_name.get(name) if isinstance(name, str) else None
        if param is None:
            problems.append(_unknown(name, by_name))
            unknown.append(str(name))
            continue
        try:
            result[name] = _decode(param.type, value)
        except ValueError as exc:
            problems.append(f"parameter {name!r}: {exc}")
    if problems:
        raise ParameterError(problems, tuple(unknown))
    return result


@dataclass(frozen=True)
class Typed:
    """A value from a typed source (a JSON body, the ``-f`` file, trigger ``params``): it must fit as it is."""

    value: Any


def typed(values: Mapping[str, Any]) -> dict[str, Typed]:
    """Mark every value of a typed source, so merging it with text values (``-p`` wins) keeps the distinction."""
    return {name: Typed(value) for name, value in values.items()}


def _decode(ptype: ParamType, value: Any) -> Any:
    if isinstance(value, Typed):
        return _from_typed(ptype, value.value)
    if isinstance(value, str):
        return _from_text(ptype, value)
    return _from_typed(ptype, value)


def _from_text(ptype: ParamType, text: str) -> Any:
    """Text parsed by the declared type; a list or dict is JSON or YAML (no anchors), bounded like any value."""
    if len(text) > MAX_VALUE_BYTES:
        raise ValueError(f"longer than {MAX_VALUE_BYTES // (1024 * 1024)} MiB")
    stripped = text.strip()
    base = ptype.base
    if ptype.optional and stripped.lower() in (_NONE if base not in _TEXT else {"none", "null"}):
        return None
    if base in _TEXT:
        return json_value(text)
    if base == "int":
        if not _INT_TEXT.fullmatch(stripped):
            raise ValueError(f"expected int, got {shown(text)}")
        return bounded_int(int(stripped))
    if base == "float":
        if not _FLOAT_TEXT.fullmatch(stripped):
            raise ValueError(f"expected float, got {shown(text)}")
        return _from_typed(ptype, float(stripped))
    if base == "bool":
        if stripped.lower() in _TRUE | _FALSE:
            return stripped.lower() in _TRUE
        raise ValueError(f"expected bool (true/false, yes/no, 1/0), got {shown(text)}")
    try:
        value = load_json_or_yaml(text)
    except TextError as exc:
        raise ValueError(f"expected {base} (JSON or YAML), could not read {shown(text)}: {exc}") from None
    if base != "any" and not isinstance(value, list if base == "list" else dict):
        parsed = "" if isinstance(value, str) or value is None else f"{type(value).__name__} "  # a word is just text
        raise ValueError(f"expected {base} (JSON or YAML), got {parsed}{shown(text)}")
    return json_value(value)


def _from_typed(ptype: ParamType, value: Any) -> Any:
    """A typed value checked against the declared type, converting only losslessly (``5.0`` → ``5``)."""
    value = json_value(value)
    base = ptype.base
    if value is None:
        if ptype.optional or base in ("any", "secret"):
            return None
        raise ValueError(f"expected {base}, got null")
    if base == "any":
        return value
    if base == "bool" and isinstance(value, bool):
        return value
    if base == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if base == "int" and isinstance(value, float) and value.is_integer():
        return bounded_int(int(value))
    if base == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if base in _TEXT and isinstance(value, str):
        return value
    if base == "list" and isinstance(value, list):
        return value
    if base == "dict" and isinstance(value, dict):
        return value
    raise ValueError(f"expected {ptype}, got {_described(value)}")


def _described(value: Any) -> str:
    if isinstance(value, str):
        unquoted = "null" if value.strip().lower() in _NONE else "the value"
        return f"{shown(value)} (text: typed values are not parsed; give {unquoted} unquoted)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return f"{type(value).__name__} {shown(value)}"


def load_params_file(path: str | Path) -> dict[str, Any]:
    """A ``-f`` file: a YAML or JSON mapping of parameter names to typed values; ParameterError says what is wrong.

    ``.json`` files are read as strict JSON, anything else as YAML (which
    reads JSON too); anchors and aliases are refused, as are files over
    ``MAX_FILE_BYTES``. The values are checked later, by ``coerce_params``.
    """
    path = Path(path)
    return params_from_text(_file_text(path), str(path), json_only=path.suffix.lower() == ".json")


def params_from_text(text: str, where: str, *, json_only: bool = False) -> dict[str, Any]:
    """A YAML (or, with ``json_only``, strict JSON) mapping of parameter names to typed values, from ``where``
    (a ``-f`` file, a ``-y`` text, a ``-b`` text once decoded); ParameterError names ``where``."""
    if len(text) > MAX_FILE_BYTES:
        raise ParameterError([f"{where}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"])
    reader, language = (load_json, "JSON") if json_only else (load_yaml, "YAML")
    try:
        values = reader(text) if text.strip() else None
    except TextError as exc:
        raise ParameterError([f"{where}: invalid {language}: {exc}"]) from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ParameterError([f"{where}: expected a mapping of parameter names to values, got "
                              f"{type(values).__name__}"])
    odd = [key for key in values if not isinstance(key, str)]
    if odd:
        raise ParameterError([f"{where}: parameter names must be text, got {shown(odd[0])}"])
    return values


def _file_text(path: Path) -> str:
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise ParameterError([f"cannot read parameters file {path}: no such file"]) from None
    except OSError as exc:
        raise ParameterError([f"cannot read parameters file {path}: {exc.strerror or exc}"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ParameterError([f"{path}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB"])
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParameterError([f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at position {exc.start})"]) \
            from None


def _unknown(name: Any, by_name: dict[str, Parameter]) -> str:
    if not by_name:
        return f"unknown parameter {shown(name)}: the notebook declares no parameters (no cell tagged 'parameters')"
    close = difflib.get_close_matches(name, list(by_name), n=1) if isinstance(name, str) else []
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown parameter {shown(name)}{hint}; declared: {', '.join(by_name)}"
