"""Live reload's engine half: which files a scenario is made of, and noticing a save."""

from __future__ import annotations

import os
import textwrap

from tui_backprop.core import scenarios
from tui_backprop.core.filewatch import FileWatcher


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


def test_a_save_that_keeps_size_and_mtime_is_noticed(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("A = 1\n")
    watcher = FileWatcher([path])
    info = path.stat()
    fresh = tmp_path / "s.py.new"  # an atomic save as rsync -t or cp -p then mv would do
    fresh.write_text("A = 2\n")
    os.utime(fresh, ns=(info.st_atime_ns, info.st_mtime_ns))
    fresh.replace(path)
    assert (path.stat().st_size, path.stat().st_mtime_ns) == (info.st_size, info.st_mtime_ns)
    assert watcher.poll()
    assert not watcher.poll()


def test_watching_again_keeps_a_save_not_yet_polled(tmp_path):
    path = tmp_path / "s.py"
    path.write_text("A = 1\n")
    watcher = FileWatcher([path])
    path.write_text("A = 22\n")  # saved while a reload was building
    os.utime(path, ns=(1, 10**18))
    watcher.watch([path, tmp_path / "new_sibling.py"])  # the reload finishes and re-watches
    assert watcher.poll()
