"""The package layering of DESIGN.md: a module imports only from layers before it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "src" / "dockyard"

# Lower layers first. A module may import dockyard modules of its own layer or lower.
LAYERS: list[set[str]] = [
    {"errors", "location", "digest", "compression"},
    {"oci"},
    {"store"},
    {"fs"},
    {"archive", "registry"},
    {"dockerfile"},
    {"plan"},
    {"runtime"},
    {"solver"},
    {"analysis", "lint"},
    {"api", "cli", "__init__", "__main__"},
]
_RANK = {name: rank for rank, names in enumerate(LAYERS) for name in names}


def _top(module: str) -> str:
    return module.split(".")[1] if module.startswith("dockyard.") else module


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names if alias.name.startswith("dockyard")]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("dockyard."):
                found.append(node.module)
            elif node.module == "dockyard":
                found += [f"dockyard.{alias.name}" for alias in node.names]
    return found


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_lower_layers(path: Path) -> None:
    own = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    assert own in _RANK, f"{own} is not placed in a layer; add it to LAYERS"
    for imported in _imports(path):
        top = _top(imported)
        if top not in _RANK:
            continue
        assert _RANK[top] <= _RANK[own], f"{path.name}: {own} must not import {imported}"
