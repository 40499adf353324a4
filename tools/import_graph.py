"""The package's import graph, read from the source (AST), not by importing anything: what
`make dvc-deps` lists as a stage's code, and what the architecture test checks the layering on."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = "reactdiff"


def module_file(module: str) -> Path | None:
    """The file of a ``reactdiff.*`` module (a package's ``__init__.py``), if it exists."""
    base = REPO.joinpath(*module.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def module_name(path: Path) -> str:
    """``reactdiff/data/__init__.py`` -> ``reactdiff.data``."""
    rel = path.resolve().relative_to(REPO).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


@cache
def imported_modules(path: Path) -> frozenset[str]:
    """Every module an import statement in ``path`` names (top level or inside functions).

    ``from a.b import c`` names ``a.b`` and, when ``a.b.c`` is a module, that too.
    """
    tree = ast.parse(path.read_text(), filename=str(path))
    here = module_name(path)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.add(base)
            found.update(
                f"{base}.{alias.name}"
                for alias in node.names
                if module_file(f"{base}.{alias.name}")
            )
    return frozenset(found)


def internal_imports(path: Path) -> set[str]:
    """The ``reactdiff.*`` modules ``path`` imports."""
    return {m for m in imported_modules(path) if m == PACKAGE or m.startswith(PACKAGE + ".")}


def closure(entry: Path) -> set[Path]:
    """Every package file that running ``entry`` can execute: its imports, transitively, and
    the ``__init__.py`` of every package on the way (Python runs those first)."""
    seen: set[Path] = set()
    todo = [entry.resolve()]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for module in internal_imports(path):
            parts = module.split(".")
            for i in range(1, len(parts) + 1):
                f = module_file(".".join(parts[:i]))
                if f is not None and f.resolve() not in seen:
                    todo.append(f.resolve())
    return seen
