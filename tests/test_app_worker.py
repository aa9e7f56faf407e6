"""The numeric check runs in a worker: the UI keeps stepping, and a new request cancels a stale one."""

from __future__ import annotations

import asyncio
import threading

from tui_backprop.app.app import make_app
from tui_backprop.app.engine import Engine
from tui_backprop.app.widgets import TextView


class GatedEngine(Engine):
    """The real engine, but the first check stops after one node until the test opens the gate."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.blocked = threading.Event()
        self.runs = 0

    def check(self, trace, settings):
        self.runs += 1
        run = self.runs
        inner = super().check(trace, settings)

        def checks():
            for k, node_check in enumerate(inner):
                if run == 1 and k == 1:
                    self.blocked.set()
                    self.gate.wait(10)
                node_check.note = f"run {run}"
                yield node_check

        return checks()


async def _cancelled_mid_run() -> None:
    engine = GatedEngine()
    app = make_app("deep-mlp", engine=engine)
    async with app.run_test(size=(120, 40)) as pilot:
        while not engine.blocked.is_set():
            await pilot.pause()
        session = app.session
        first = next(w for w in app.workers if w.group == "check")
        assert session.n_checked == 1 and not session.check_complete
        status = str(app.debugger.query_one("#status").render())
        assert "check" in status and "1/27" in status

        await pilot.press("n", "n")  # the UI does not wait for the check
        assert session.step == 2
        assert "forward step 3 of 28" in app.debugger.query_one(TextView).plain

        await pilot.press("r")  # re-run: the stale check is cancelled
        assert first.is_cancelled
        engine.gate.set()
        for _ in range(200):
            await app.workers.wait_for_complete()
            await pilot.pause()
            if session.check_complete and not app._refresh_pending:
                break
        assert session.check_complete
        assert session.n_checked == len(session.trace.graph.nodes)
        assert {c.note for c in session.checks.values()} == {"run 2"}
        assert "/27" not in str(app.debugger.query_one("#status").render())


def test_the_check_worker_is_cancelled_mid_run_and_its_results_are_dropped():
    asyncio.run(_cancelled_mid_run())


class FailingEngine(Engine):
    def check(self, trace, settings):
        yield from ()
        raise RuntimeError("the checker fell over")


async def _check_failure() -> None:
    app = make_app("sigmoid-chain", engine=FailingEngine())
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(20):
            await app.workers.wait_for_complete()
            await pilot.pause()
        assert app.session.check_complete
        assert app.is_running
        await pilot.press("n", "c")


def test_a_check_that_raises_is_reported_and_the_app_stays_up():
    asyncio.run(_check_failure())
