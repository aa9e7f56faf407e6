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


ENGINE = [
    "graph",
    "ops",
    "trace",
    "gradcheck",
    "scenarios",
    "export",
    "cli",
    "errors",
    "guard",
    "layers",
    "reload",
]


def test_engine_modules_do_not_import_textual():
    code = (
        "import sys\n"
        + "".join(f"import tui_backprop.{m}\n" for m in ENGINE)
        + "from tui_backprop import scenarios\n"
        + "[scenarios.trace_scenario(s) for s in scenarios.builtins()]\n"
        + "bad = sorted(m for m in sys.modules if m.split('.')[0] == 'textual')\n"
        + "assert not bad, bad\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
