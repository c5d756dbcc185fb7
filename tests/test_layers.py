"""The package graph flows one way: no module of jetnb imports, directly or through others, a module that imports
it back (function-level and TYPE_CHECKING imports included), and the kernel side never reaches the store."""

from __future__ import annotations

import ast
from pathlib import Path

from conftest import REPO

PACKAGE = REPO / "jetnb"


def _module(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    modules = {_module(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                base = package
                for _ in range(max(node.level - 1, 0)):
                    base = base.rpartition(".")[0]
                target = (f"{base}.{node.module}" if node.module else base) if node.level else (node.module or "")
                for alias in node.names:
                    found = next((c for c in (f"{target}.{alias.name}", target) if c in modules and c != name), None)
                    if found:
                        edges[name].add(found)
            elif isinstance(node, ast.Import):
                edges[name].update(a.name for a in node.names if a.name in modules and a.name != name)
    return edges


def _reaches(edges: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        for nxt in edges[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def test_no_import_cycles():
    edges = _imports()
    cycles = sorted(name for name in edges if name in _reaches(edges, name))
    assert cycles == []


def test_the_kernel_side_never_imports_the_store_or_the_service():
    edges = _imports()
    kernel = [name for name in edges if name.startswith("jetnb.runtime")]
    reached = set().union(*(_reaches(edges, name) for name in kernel))
    assert not {m for m in reached if m.startswith(("jetnb.store", "jetnb.service", "jetnb.executor"))}


def test_no_sql_outside_the_store():
    statements = ("SELECT ", "INSERT INTO", "UPDATE runs", "DELETE FROM", "CREATE TABLE")
    offenders = [str(p.relative_to(REPO)) for p in PACKAGE.rglob("*.py")
                 if not p.is_relative_to(PACKAGE / "store") and p.name != "data_change.py"  # its query is the user's
                 and any(s in p.read_text(encoding="utf-8") for s in statements)]
    assert offenders == []
