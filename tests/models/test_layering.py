"""The import graph of the code: models/ imports nothing of the project but models/, and no
module of models/ imports itself back through another (no cycle, not even a deferred one)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROJECT = ("models", "sinks", "streams", "dashboard")


def _imports(package: str) -> dict[str, set[str]]:
    """Every module of ``package`` and the project modules it imports, anywhere in its body."""
    graph: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
        graph[module] = {name for name in found if name.split(".")[0] in PROJECT}
    return graph


def test_models_import_only_models() -> None:
    outside = {
        (module, name)
        for module, names in _imports("models").items()
        for name in names
        if not name.startswith("models")
    }
    assert outside == set()


def test_models_have_no_import_cycle() -> None:
    graph = _imports("models")
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        assert module not in path, " -> ".join((*path, module))
        if module in done:
            return
        for name in graph.get(module, ()):
            visit(name, (*path, module))
        done.add(module)

    for module in graph:
        visit(module, ())
