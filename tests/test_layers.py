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
