"""A fake installed distribution that registers plugin scenarios, for the CLI and the picker tests."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from tui_backprop.core.scenarios import ENTRY_POINT_GROUP


def install_plugins(tmp_path: Path, monkeypatch, entries: dict[str, str], modules: dict[str, str]) -> Path:
    """Register ``entries`` (scenario name -> module) from modules written into a fake site dir."""
    site = tmp_path / "site"
    info = site / "fake_plugins-1.0.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: fake-plugins\nVersion: 1.0\n")
    lines = "".join(f"{name} = {module}\n" for name, module in entries.items())
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n{lines}")
    for module, source in modules.items():
        (site / f"{module}.py").write_text(textwrap.dedent(source))
    monkeypatch.syspath_prepend(str(site))
    for module in modules:
        monkeypatch.delitem(sys.modules, module, raising=False)
    return site
