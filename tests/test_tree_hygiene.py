"""The tree stays clean: ruff's lint and format checks pass, and the engine never imports textual."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUFF = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))


@pytest.mark.parametrize("args", [["check", "."], ["format", "--check", "."]])
def test_ruff_is_clean(args):
    if not Path(RUFF).exists():
        pytest.skip("ruff is not installed (pip install -e '.[test]' brings it)")
    done = subprocess.run([RUFF, *args], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


HEADLESS = ["core", "check", "teach", "cli"]
"""Every layer below the app: none may import textual (README, "Code map")."""


def test_the_layers_below_the_app_do_not_import_textual():
    code = (
        "import importlib, pkgutil, sys\n"
        "import tui_backprop, tui_backprop.ops, tui_backprop.layers\n"
        f"for layer in {HEADLESS!r}:\n"
        "    package = importlib.import_module('tui_backprop.' + layer)\n"
        "    for info in pkgutil.walk_packages(package.__path__, package.__name__ + '.'):\n"
        "        importlib.import_module(info.name)\n"
        "from tui_backprop.core import scenarios\n"
        "[scenarios.trace_scenario(s) for s in scenarios.builtins()]\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'textual')\n"
        "assert not bad, bad\n"
        "assert len([m for m in sys.modules if m.startswith('tui_backprop.')]) > 30\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
