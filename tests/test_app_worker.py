"""Background work: the check and the loads run off the UI thread, a newer request supersedes an
older one (even one stuck in the author's code), and nothing they raise ends the app or reads as a pass."""

from __future__ import annotations

import threading

import pytest
from app_support import settle, sync

from tui_backprop.app.app import make_app
from tui_backprop.app.engine import Engine
from tui_backprop.app.inspector.text_view import TextView
from tui_backprop.app.screens.error import ErrorScreen


def status(app) -> str:
    return str(app.debugger.query_one("#status").render())


class GatedEngine(Engine):
    """The real engine, but the first check stops after one node until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.blocked = threading.Event()
        self.runs = 0

    def check(self, trace, settings, should_stop=None):
        self.runs += 1
        run = self.runs
        inner = super().check(trace, settings, should_stop)

        def checks():
            for k, node_check in enumerate(inner):
                if run == 1 and k == 1:
                    self.blocked.set()
                    self.gate.wait()
                node_check.note = f"run {run}"
                yield node_check

        return checks()


async def wait_until(pilot, event: threading.Event) -> None:
    """Let the app run until a worker thread reaches ``event`` (no fixed time window)."""
    while not event.is_set():
        await pilot.pause()


@sync
async def test_the_check_worker_is_cancelled_mid_run_and_its_results_are_dropped():
    engine = GatedEngine()
    app = make_app("deep-mlp", engine=engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until(pilot, engine.blocked)
        await pilot.pause()
        session = app.model.session
        first = next(w for w in app.workers if w.group == "check")
        assert session.n_checked == 1 and not session.check_complete
        assert "check" in status(app) and "1/27" in status(app)

        await pilot.press("n", "n")  # the UI does not wait for the check
        assert session.step == 2
        assert "forward step 3 of 28" in app.debugger.query_one(TextView).plain

        await pilot.press("r")  # re-run: the stale check is cancelled
        assert first.is_cancelled
        engine.gate.set()
        await settle(app, pilot)
        assert session.check_complete and session.check_error is None
        assert session.n_checked == len(session.trace.graph.nodes)
        assert {c.note for c in session.checks.values()} == {"run 2"}
        assert "/27" not in status(app)


class RaisingEngine(Engine):
    """A check that raises after its first node: an error of ours, or the author's sys.exit()."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def check(self, trace, settings, should_stop=None):
        inner = super().check(trace, settings, should_stop)
        yield next(inner)
        raise self.error


@pytest.mark.parametrize(
    "error", [RuntimeError("the checker fell over"), SystemExit(3), KeyboardInterrupt()], ids=repr
)
@sync
async def test_a_check_that_raises_shows_the_error_and_never_reads_as_a_pass(error):
    app = make_app("sigmoid-chain", engine=RaisingEngine(error))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        assert app.is_running
        session = app.model.session
        assert session.check_complete and session.check_error.startswith(type(error).__name__)
        assert session.n_checked == 1
        assert "check incomplete" in status(app) and "no mismatch" not in status(app)
        assert any("check incomplete" in str(n.message) for n in app._notifications)
        await pilot.press("end")  # a node the check never reached says why
        assert "the check stopped" in app.debugger.query_one(TextView).plain
        await pilot.press("n", "c")
        assert app.is_running


class StuckEngine(Engine):
    """The first open never returns until the test lets it (a build stuck in the author's code)."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.stuck = threading.Event()
        self.opens = 0

    def open(self, spec, bug, dtype, mystery=False):
        self.opens += 1
        if self.opens == 2:  # the first reload: its build hangs
            self.stuck.set()
            self.release.wait()
            return super().open("l1-mse", bug, dtype)  # a late answer that must be dropped
        return super().open(spec, bug, dtype)


@sync
async def test_a_stuck_build_is_superseded_by_the_next_load_and_its_late_answer_dropped():
    engine = StuckEngine()
    app = make_app("sigmoid-chain", engine=engine)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("t")  # float32: the rebuild hangs
        await wait_until(pilot, engine.stuck)
        assert app.model.loading is not None and app.model.loading.dtype == "float32"
        app.loader.open("softmax")  # a newer load goes ahead regardless
        await settle(app, pilot)
        assert app.model.session.scenario.slug == "softmax" and app.model.loading is None
        engine.release.set()  # the stuck build finally returns: too late to count
        await settle(app, pilot)
        assert app.model.session.scenario.slug == "softmax"
        assert app.is_running


BUILD_RAISES = '''
"""Exits"""
import sys
from tui_backprop import ops

def build(g, bug=None):
    x = g.input("x", 2.0)
    {raise_it}
    return ops.sum(ops.tanh(x, name="t"), name="L")
'''


@pytest.mark.parametrize("raise_it", ["sys.exit(3)", "raise KeyboardInterrupt", "raise SystemExit"])
@sync
async def test_user_code_exiting_during_a_reload_shows_the_error_screen(tmp_path, raise_it):
    from test_app_reload import save

    path = tmp_path / "exits.py"
    save(path, BUILD_RAISES.format(raise_it="pass"))
    app = make_app(str(path))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        save(path, BUILD_RAISES.format(raise_it=raise_it))
        assert app.loader.poll()
        await settle(app, pilot)
        assert app.is_running
        assert isinstance(app.screen, ErrorScreen)
        assert "exits.py" in str(app.screen.query_one("#error-text").render())
        assert app.model.session.scenario.title == "Exits"  # the last good trace stays


@sync
async def test_a_check_superseded_before_it_starts_leaves_no_coroutine_unawaited():
    """Two checks asked for in one turn: the first worker is cancelled before it runs and must not
    have created a coroutine (Python would warn "coroutine ... was never awaited")."""
    import gc
    import warnings

    app = make_app("sigmoid-chain")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        async with app.run_test(size=(80, 24)) as pilot:
            await settle(app, pilot)
            app.loader.checker.start()
            app.loader.checker.start()
            await settle(app, pilot)
        gc.collect()
    assert not [w for w in caught if "never awaited" in str(w.message)]
