"""The app's parts import downwards only: no screen, view or command provider imports the App class."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP_DIR = Path(__file__).resolve().parent.parent / "tui_backprop" / "app"
PARTS = sorted(p for p in APP_DIR.glob("*.py") if p.name != "app.py")


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


@pytest.mark.parametrize("path", PARTS, ids=lambda p: p.name)
def test_no_part_of_the_app_imports_the_app_module(path):
    assert "tui_backprop.app.app" not in imported_modules(path)


def test_the_app_module_stays_small():
    assert len((APP_DIR / "app.py").read_text(encoding="utf-8").splitlines()) <= 500


def test_every_screen_the_app_pushes_answers_once():
    import importlib
    import inspect
    import pkgutil

    from textual.screen import Screen

    import tui_backprop.app
    from tui_backprop.app.dialog import AnswersOnce

    unguarded = []
    for info in pkgutil.iter_modules(tui_backprop.app.__path__):
        module = importlib.import_module(f"tui_backprop.app.{info.name}")
        for name, cls in inspect.getmembers(module, inspect.isclass):
            mine = issubclass(cls, Screen) and cls.__module__ == module.__name__
            if mine and name != "DebuggerScreen" and not issubclass(cls, AnswersOnce):
                unguarded.append(f"{module.__name__}.{name}")
    assert not unguarded, f"mix in tui_backprop.app.dialog.AnswersOnce: {unguarded}"
