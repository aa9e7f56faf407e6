"""The app's first frame does not wait for the engine: importing the app leaves it (and numpy) unimported."""

from __future__ import annotations

import subprocess
import sys

HEAVY = [
    "numpy",
    "tui_backprop.scenarios",
    "tui_backprop.check.gradcheck",
    "tui_backprop.core.trace",
    "tui_backprop.app.debugger.rows",
    "tui_backprop.app.debugger.status_text",
    "tui_backprop.app.inspector.text",
    "tui_backprop.app.look.numbers",
]


def test_importing_the_app_does_not_import_the_engine_or_the_renderers():
    code = (
        "import sys\n"
        "from tui_backprop.app.app import make_app\n"
        "make_app('sigmoid-chain')\n"
        f"loaded = [m for m in {HEAVY!r} if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
