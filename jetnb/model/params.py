"""The parameters cell: declared names, types, defaults and help, and how trigger values are checked against them.

Every trigger (CLI, YAML file, webhook, widget, schedule) goes through
``coerce_params`` so a value means the same thing whichever way it arrives.
"""

from __future__ import annotations

import ast
import difflib
import io
import json
import tokenize
from dataclasses import dataclass
from typing import Any

BASE_TYPES = ("int", "float", "bool", "str", "list", "dict", "any")
_ALIASES = {"List": "list", "Dict": "dict", "Any": "any", "object": "any", "Sequence": "list",
            "Mapping": "dict", "tuple": "list", "Tuple": "list"}
_TRUE = {"true", "yes", "y", "on", "1"}
_FALSE = {"false", "no", "n", "off", "0"}
_NONE = {"none", "null", "~", ""}


class ParameterError(ValueError):
    """Values that do not fit the parameters cell; ``problems`` lists each one by name."""

    def __init__(self, problems: list[str]):
        super().__init__("; ".join(problems))
        self.problems = problems


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
            raise ValueError(f"unsupported type {node.id!r} (use int, float, bool, str, list, dict or Optional[...])")
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
        tree = ast.parse(source)
    except SyntaxError as exc:
        raise ValueError(f"line {exc.lineno}: syntax error: {exc.msg}") from None
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
                f"parameters cell, found `{ast.unparse(stmt).splitlines()[0]}`"
            )
        if name in params:
            raise ValueError(f"line {stmt.lineno}: parameter {name!r} is declared twice")
        if value is None:
            raise ValueError(f"line {stmt.lineno}: parameter {name!r} needs a default value")
        try:
            default, literal = ast.literal_eval(value), True
        except ValueError:
            default, literal = ast.unparse(value), False
        try:
            ptype = _annotation_type(annotation) if annotation is not None else (
                _infer_type(default) if literal else ParamType("any"))
        except (ValueError, SyntaxError) as exc:
            raise ValueError(f"line {stmt.lineno}: parameter {name!r}: {exc}") from None
        if literal:
            try:
                default = coerce_value(ptype, default)
            except ValueError as exc:
                raise ValueError(f"line {stmt.lineno}: parameter {name!r}: default {exc}") from None
        params[name] = Parameter(name, ptype, default, _help_for(stmt, comments, code_lines), stmt.lineno, literal)
    return list(params.values())


def _help_for(stmt: ast.stmt, comments: dict[int, str], code_lines: set[int]) -> str:
    """The trailing comment, or else a comment on its own line just above."""
    trailing = comments.get(stmt.end_lineno or stmt.lineno)
    if trailing:
        return trailing
    above = stmt.lineno - 1
    return comments.get(above, "") if above not in code_lines else ""


def _from_text(ptype: ParamType, text: str) -> Any:
    import yaml

    if ptype.optional and text.strip().lower() in (_NONE if ptype.base != "str" else {"none", "null"}):
        return None
    base = ptype.base
    if base == "str":
        return text
    if base == "int":
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError(f"expected int, got {text!r}") from None
    if base == "float":
        try:
            return float(text.strip())
        except ValueError:
            raise ValueError(f"expected float, got {text!r}") from None
    if base == "bool":
        lowered = text.strip().lower()
        if lowered in _TRUE:
            return True
        if lowered in _FALSE:
            return False
        raise ValueError(f"expected bool (true/false, yes/no, 1/0), got {text!r}")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"expected {base} as JSON/YAML, could not parse {text!r}: {exc}") from None
    if base == "any":
        return value
    return coerce_value(ptype, value)


def coerce_value(ptype: ParamType, value: Any) -> Any:
    """Check a typed value (from YAML, JSON or Python) against a declared type, converting only losslessly."""
    if isinstance(value, str) and (ptype.base != "str" or ptype.optional):
        return _from_text(ptype, value)
    if value is None:
        if ptype.optional or ptype.base == "any":
            return None
        raise ValueError(f"expected {ptype.base}, got null")
    base = ptype.base
    if base == "any":
        return value
    if base == "bool" and isinstance(value, bool):
        return value
    if base == "int" and isinstance(value, int) and not isinstance(value, bool):
        return value
    if base == "int" and isinstance(value, float) and value.is_integer():
        return int(value)
    if base == "float" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if base == "str" and isinstance(value, str):
        return value
    if base == "list" and isinstance(value, (list, tuple)):
        return list(value)
    if base == "dict" and isinstance(value, dict):
        return value
    raise ValueError(f"expected {ptype}, got {type(value).__name__} {json.dumps(value, default=str)[:60]}")


def coerce_params(declared: list[Parameter], given: dict[str, Any]) -> dict[str, Any]:
    """Validate values against the parameters cell; text (CLI ``-p``, query strings) is parsed by the declared type."""
    by_name = {p.name: p for p in declared}
    problems: list[str] = []
    result: dict[str, Any] = {}
    for name, value in given.items():
        param = by_name.get(name)
        if param is None:
            problems.append(_unknown(name, by_name))
            continue
        try:
            result[name] = coerce_value(param.type, value)
        except ValueError as exc:
            problems.append(f"parameter {name!r}: {exc}")
    if problems:
        raise ParameterError(problems)
    return result


def _unknown(name: str, by_name: dict[str, Parameter]) -> str:
    if not by_name:
        return f"unknown parameter {name!r}: the notebook declares no parameters (no cell tagged 'parameters')"
    close = difflib.get_close_matches(name, list(by_name), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    return f"unknown parameter {name!r}{hint}; declared: {', '.join(by_name)}"
