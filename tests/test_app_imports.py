"""The app's parts import downwards only: no screen, view or command provider imports the App class."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP_DIR = Path(__file__).resolve().parent.parent / "tui_backprop" / "app"
PARTS = sorted(p for p in APP_DIR.rglob("*.py") if p != APP_DIR / "app.py")


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, TYPE_CHECKING blocks and function bodies included."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


@pytest.mark.parametrize("path", PARTS, ids=lambda p: str(p.relative_to(APP_DIR)))
def test_no_part_of_the_app_imports_the_app_module(path):
    assert "tui_backprop.app.app" not in imported_modules(path)


@pytest.mark.parametrize("path", sorted(APP_DIR.rglob("*.py")), ids=lambda p: str(p.relative_to(APP_DIR)))
def test_every_module_of_the_app_stays_small(path):
    assert len(path.read_text(encoding="utf-8").splitlines()) <= 500, "split it by concern"


MODEL_AND_SERVICES = [
    "tui_backprop.app.model.model",
    "tui_backprop.app.model.session",
    "tui_backprop.app.model.stepping",
    "tui_backprop.app.model.elements",
    "tui_backprop.app.model.loading",
    "tui_backprop.app.model.checking",
    "tui_backprop.app.model.tasks",
    "tui_backprop.app.explore.editing",
    "tui_backprop.app.explore.lessons",
    "tui_backprop.app.explore.quiz",
    "tui_backprop.app.explore.sweeping",
]


def test_the_model_and_its_services_do_not_import_textual():
    """A service is driven without a terminal (tests/test_app_model.py): Textual stays out of it."""
    import subprocess
    import sys

    code = (
        "import importlib, sys\n"
        f"for name in {MODEL_AND_SERVICES!r}:\n"
        "    importlib.import_module(name)\n"
        "assert 'textual' not in sys.modules, sorted(m for m in sys.modules if m.startswith('textual'))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def test_every_screen_the_app_pushes_answers_once():
    import importlib
    import inspect
    import pkgutil

    from textual.screen import Screen

    import tui_backprop.app
    from tui_backprop.app.screens.dialog import AnswersOnce

    unguarded = []
    for info in pkgutil.walk_packages(tui_backprop.app.__path__, "tui_backprop.app."):
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            mine = issubclass(cls, Screen) and cls.__module__ == module.__name__
            if mine and name != "DebuggerScreen" and not issubclass(cls, AnswersOnce):
                unguarded.append(f"{module.__name__}.{name}")
    assert not unguarded, f"mix in tui_backprop.app.dialog.AnswersOnce: {unguarded}"


ORDER = [
    "engine",
    "look",
    "model",
    "watching",
    "finished_lines",
    "keys",
    "screens",
    "explore",
    "train",
    "inspector",
    "circuit",
    "presenter",
    "debugger",
    "commands",
    "app",
]
"""The parts of ``app/`` as README's "Code map" lists them: each imports only itself and those before."""


def part_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[2] if len(parts) > 2 and parts[:2] == ["tui_backprop", "app"] else None


@pytest.mark.parametrize("path", sorted(APP_DIR.rglob("*.py")), ids=lambda p: str(p.relative_to(APP_DIR)))
def test_a_part_of_the_app_imports_only_the_parts_listed_before_it(path):
    relative = path.relative_to(APP_DIR).with_suffix("")
    mine = relative.parts[0]
    if mine == "__init__":
        return
    assert mine in ORDER, f"add {mine} to ORDER here and to README's Code map"
    later = sorted(
        module
        for module in imported_modules(path)
        if (part := part_of(module)) is not None and part in ORDER and ORDER.index(part) > ORDER.index(mine)
    )
    assert not later, f"app/{relative} imports a part listed after its own: {later}"
