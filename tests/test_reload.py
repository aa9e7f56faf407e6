"""Live reload's engine half: which files a scenario is made of, and noticing a save."""

from __future__ import annotations

import os
import textwrap

from tui_backprop import scenarios
from tui_backprop.reload import FileWatcher


def test_watcher_notices_a_save_once_and_survives_a_deleted_file(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("A = 1\n")
    watcher = FileWatcher([path])
    assert not watcher.poll()
    path.write_text("A = 22\n")
    os.utime(path, ns=(1, 10**18))
    assert watcher.poll()
    assert not watcher.poll()
    path.unlink()
    assert watcher.poll()
    assert not watcher.poll()


def test_source_files_are_the_scenario_and_the_modules_beside_it_that_it_imports(tmp_path):
    (tmp_path / "my_layers.py").write_text("K = 2.0\n")
    (tmp_path / "unrelated.py").write_text("raise SystemExit('never imported')\n")
    main = tmp_path / "net.py"
    main.write_text(
        textwrap.dedent(
            """
            from my_layers import K
            from tui_backprop import ops

            def build(g):
                return ops.scale(g.param("w", 1.0), K, name="L")
            """
        )
    )
    scenario = scenarios.load(str(main))
    names = {p.name for p in scenarios.source_files(scenario)}
    assert names == {"net.py", "my_layers.py"}
