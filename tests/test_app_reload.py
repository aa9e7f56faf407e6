"""Live reload in the app: save the scenario file and see the new state, on the same node."""

from __future__ import annotations

import os
import textwrap
import threading
import time
from pathlib import Path

from app_support import settle, sync

from tui_backprop.app.app import make_app
from tui_backprop.app.engine import Engine
from tui_backprop.app.screens.error import ErrorScreen

GOOD = '''
"""Reload me"""
from tui_backprop import ops

def build(g, bug=None):
    x = g.input("x", {x})
    w = g.param("w", 3.0)
    a = ops.mul(x, w, name="a")
    b = ops.{op}(a, name="b")
    return ops.sum(b, name="L")
'''


def save(path: Path, source: str) -> None:
    """Write as an editor would; bump the modification time so a fast rewrite is seen as a save."""
    path.write_text(textwrap.dedent(source))
    stamp = time.time_ns() + 10**9 * (1 + int(path.stat().st_mtime_ns % 7))
    os.utime(path, ns=(stamp, stamp))


@sync
async def test_save_rebuild_break_and_fix_keep_the_place(tmp_path):
    path = tmp_path / "mine.py"
    save(path, GOOD.format(x=2.0, op="tanh"))
    app = make_app(str(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("{", "n")  # backward pass, second step: node b
        assert (app.model.session.current.node, app.model.session.phase) == ("b", "backward")
        assert float(app.model.session.trace.values["x"]) == 2.0

        save(path, GOOD.format(x=0.5, op="sigmoid"))
        assert app.loader.poll()
        await settle(app, pilot)
        assert float(app.model.session.trace.values["x"]) == 0.5
        assert app.model.session.trace.graph["b"].op.name == "sigmoid"
        assert (app.model.session.current.node, app.model.session.phase) == ("b", "backward")

        save(path, "def build(g, bug=None)\n    pass\n")
        assert app.loader.poll()
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorScreen)
        assert "mine.py:1" in str(app.screen.query_one("#error-text").render())
        assert float(app.model.session.trace.values["x"]) == 0.5  # the last good graph stays

        save(path, GOOD.format(x=-1.0, op="tanh"))
        assert app.loader.poll()
        await settle(app, pilot)
        assert not isinstance(app.screen, ErrorScreen)
        assert float(app.model.session.trace.values["x"]) == -1.0
        assert (app.model.session.current.node, app.model.session.phase) == ("b", "backward")
        assert not app.loader.poll()  # nothing saved since


@sync
async def test_a_save_is_noticed_by_polling_and_a_sibling_module_counts(tmp_path):
    (tmp_path / "consts.py").write_text("X = 2.0\n")
    path = tmp_path / "uses_consts.py"
    save(
        path,
        GOOD.format(x="X", op="tanh").replace("from tui_backprop", "from consts import X\nfrom tui_backprop"),
    )
    app = make_app(str(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        save(tmp_path / "consts.py", "X = 7.0\n")
        while app.model.loading is None and float(app.model.session.trace.values["x"]) != 7.0:
            await pilot.pause()  # until the poll timer sees the save (no fixed window)
        await settle(app, pilot)
        assert float(app.model.session.trace.values["x"]) == 7.0


@sync
async def test_a_file_that_never_ran_opens_once_it_is_fixed(tmp_path):
    path = tmp_path / "broken_at_start.py"
    save(path, "raise RuntimeError('not yet')\n")
    app = make_app(str(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert isinstance(app.screen, ErrorScreen) and app.model.session is None
        save(path, GOOD.format(x=1.0, op="tanh"))
        assert app.loader.poll()
        await settle(app, pilot)
        assert not isinstance(app.screen, ErrorScreen)
        assert app.model.session.scenario.title == "Reload me"


@sync
async def test_builtins_are_not_watched():
    app = make_app("softmax")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.loader.watcher is None and not app.loader.poll()


class SlowBuild(Engine):
    """The next open reads the file, then waits for the test before answering."""

    def __init__(self) -> None:
        self.hold_next = False
        self.holding = threading.Event()
        self.release = threading.Event()

    def open(self, spec, bug, dtype, mystery=False):
        hold, self.hold_next = self.hold_next, False
        opened = super().open(spec, bug, dtype)
        if hold:
            self.holding.set()
            self.release.wait()
        return opened


@sync
async def test_a_save_while_a_reload_is_building_is_not_lost(tmp_path):
    path = tmp_path / "mine.py"
    save(path, GOOD.format(x=2.0, op="tanh"))
    engine = SlowBuild()
    app = make_app(str(path), engine=engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        engine.hold_next = True
        save(path, GOOD.format(x=0.5, op="tanh"))
        assert app.loader.poll()
        while not engine.holding.is_set():
            await pilot.pause()
        save(path, GOOD.format(x=-1.0, op="tanh"))  # saved while the first reload still builds
        assert app.loader.poll()
        await settle(app, pilot)
        engine.release.set()  # the older build answers last: it must not win
        await settle(app, pilot)
        assert float(app.model.session.trace.values["x"]) == -1.0
        assert not app.loader.poll()
