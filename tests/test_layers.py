"""The package's layers import downwards only (README, "Code map"): core < check < teach < interop < cli
< app.

Every import counts, those inside functions and ``TYPE_CHECKING`` blocks included: a lazy import
upwards is still a dependency upwards. The public faces (``tui_backprop``, ``tui_backprop.ops``,
``tui_backprop.layers``, ``tui_backprop.testing``) are for scenario authors and test suites; the
package itself never goes through them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tui_backprop"
LAYERS = ["core", "check", "teach", "interop", "cli", "app"]
FACES = {"tui_backprop", "tui_backprop.ops", "tui_backprop.layers", "tui_backprop.testing"}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path) -> set[str]:
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    return imports_in(path.read_text(encoding="utf-8"), package)


def imports_in(source: str, package: str) -> set[str]:
    """Every ``tui_backprop`` module (or name in one) the source imports, wherever the import sits."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return {m for m in found if m == "tui_backprop" or m.startswith("tui_backprop.")}


def layer_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


SOURCES = sorted(p for p in PACKAGE.rglob("*.py") if layer_of(module_name(p)))


def test_every_module_of_the_package_belongs_to_a_layer():
    loose = sorted(
        module_name(p)
        for p in PACKAGE.rglob("*.py")
        if not layer_of(module_name(p)) and module_name(p) not in FACES | {"tui_backprop.__main__"}
    )
    assert not loose, f"put these in one of {LAYERS}: {loose}"


@pytest.mark.parametrize("path", SOURCES, ids=module_name)
def test_a_module_imports_only_its_own_layer_and_those_below(path):
    mine = LAYERS.index(layer_of(module_name(path)))
    upward = sorted(m for m in imports_of(path) if (layer_of(m) and LAYERS.index(layer_of(m)) > mine))
    through_faces = sorted(imports_of(path) & FACES)
    assert not upward, f"{module_name(path)} imports a higher layer: {upward}"
    assert not through_faces, f"{module_name(path)} imports the public face, not the module: {through_faces}"


def test_a_lazy_or_relative_upward_import_is_seen():
    source = "if TYPE_CHECKING:\n    from ..app import app\ndef f():\n    import tui_backprop.cli.main\n"
    found = imports_in(source, "tui_backprop.core")
    assert {"tui_backprop.app.app", "tui_backprop.cli.main"} <= found


# ---------------------------------------------------------------- the app's one door into the engine
DOOR = "tui_backprop.app.engine"
ENGINE = ("core", "check", "teach")


@pytest.mark.parametrize("path", [p for p in SOURCES if layer_of(module_name(p)) == "app"], ids=module_name)
def test_the_app_reaches_the_engine_only_through_its_door(path):
    """``app/engine.py`` is the app's only import of core, check and teach (README, "Code map")."""
    if module_name(path) == DOOR:
        return
    through_the_wall = sorted(m for m in imports_of(path) if layer_of(m) in ENGINE)
    assert not through_the_wall, f"{module_name(path)} imports the engine directly: {through_the_wall}"


# ---------------------------------------------------------------- no import circles
def runtime_imports_in(source: str, package: str) -> set[str]:
    """Every ``tui_backprop`` import that runs: at module level or inside a function (lazy ones
    included); an ``if TYPE_CHECKING:`` block never runs, so it cannot close a circle."""
    tree = ast.parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            node.body = [ast.Pass()]
    return imports_in(ast.unparse(tree), package)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def imported_modules(name: str) -> set[str]:
    """The package's modules that ``name`` imports when it runs (a name in a module counts as it)."""
    path = MODULES[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for imported in runtime_imports_in(path.read_text(encoding="utf-8"), package):
        while imported and imported not in MODULES:
            imported = imported.rpartition(".")[0]
        if imported and imported != name:
            found.add(imported)
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_module_of_the_package_imports_itself_round_a_circle():
    graph = {name: imported_modules(name) for name in MODULES}
    assert not circles(graph), f"import circles (lazy imports count): {circles(graph)}"


def test_a_circle_closed_by_a_lazy_import_is_found_and_a_type_only_one_is_not():
    lazy = "def f():\n    from tui_backprop.app import views\n"
    typed = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from tui_backprop.app import views\n"
    assert "tui_backprop.app.views" in runtime_imports_in(lazy, "tui_backprop.app")
    assert "tui_backprop.app.views" not in runtime_imports_in(typed, "tui_backprop.app")
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert circles(graph) == [["a", "b", "c"]]
