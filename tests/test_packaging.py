"""The wheel carries the built-in scenarios (as tui_backprop.builtin) and the app's stylesheet."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_wheel_ships_builtin_scenarios_and_stylesheets(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("backprop_tui-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for module in ["sigmoid_chain", "l1_mse", "two_layer_net", "softmax", "deep_mlp", "digits"]:
        assert f"tui_backprop/builtin/{module}.py" in names
    assert "tui_backprop/builtin/digits.csv.gz" in names  # the digits scenario's data, no download
    assert not any(name.startswith("scenarios/") for name in names)
    styles = sorted((ROOT / "tui_backprop" / "app").glob("*.tcss"))
    assert all(f"tui_backprop/app/{s.name}" in names for s in styles)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "backprop-tui = tui_backprop.__main__:entry" in zipfile.ZipFile(wheel).read(entry_points).decode()
