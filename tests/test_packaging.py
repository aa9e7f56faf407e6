"""The wheel carries every module of the package, the built-in scenarios (as tui_backprop.builtin)
and the app's stylesheet; it is built from a copy of the source in a temporary folder, so nothing
is written into the checkout."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ["pyproject.toml", "README.md", "tui_backprop", "scenarios"]


def test_wheel_ships_every_module_builtin_scenarios_and_stylesheets(tmp_path):
    source = tmp_path / "source"
    source.mkdir()
    for name in SOURCE:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    done = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "dist"), str(source)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    (wheel,) = (tmp_path / "dist").glob("backprop_tui-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "tui_backprop").rglob("*.py"))
    missing = [m for m in modules if m not in names]
    assert not missing, f"add their packages to pyproject.toml: {missing}"
    for module in ["sigmoid_chain", "l1_mse", "two_layer_net", "softmax", "deep_mlp", "digits"]:
        assert f"tui_backprop/builtin/{module}.py" in names
    assert "tui_backprop/builtin/digits.csv.gz" in names  # the digits scenario's data, no download
    assert not any(name.startswith("scenarios/") for name in names)
    styles = sorted((ROOT / "tui_backprop" / "app").rglob("*.tcss"))
    assert all(str(s.relative_to(ROOT)) in names for s in styles)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "backprop-tui = tui_backprop.__main__:entry" in zipfile.ZipFile(wheel).read(entry_points).decode()
