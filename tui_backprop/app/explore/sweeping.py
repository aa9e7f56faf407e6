"""The step-size explorer's sweep (README "Explore it live"): the error against eps, float64 and float32.

For the node looked at, the element it follows (``Model.focus()``: the element cursor) is
probed at every eps in the engine's sweep, in the session's dtype and in the other one rebuilt
with the same edits. The author's code runs in a daemon thread; a failure is a notice, never a
crash. No Textual here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from tui_backprop.app import engine as door
from tui_backprop.app.model.daemon import run_in_daemon
from tui_backprop.app.model.model import Model

if TYPE_CHECKING:
    from tui_backprop.app.engine import Engine, Sweep


@dataclass(frozen=True)
class SweepResult:
    sweep: Sweep
    eps: float
    """The check's eps, drawn as a dotted line."""


class StepSizes:
    """Sweeps eps for the gradient of the node looked at."""

    def __init__(self, model: Model, engine: Engine) -> None:
        self.model = model
        self.engine = engine

    async def sweep(self) -> SweepResult | None:
        """The sweep, or None (nothing open, or the author's ops failed: said in a notice)."""
        model = self.model
        session = model.session
        name = model.looked_at
        if session is None or name is None:
            return None
        final = session.received(name) == session.expected(name)
        if not (final or model.show_all):  # no spoilers: the sweep would tell a wrong gradient
            model.notify(
                f"dL/d{name} is not reached yet at this step: step to where it is (or A shows everything)",
                timeout=4,
            )
            return None
        index = model.element(name)
        values = dict(model.edits.values) if model.edits else {}

        def run() -> Sweep:
            traces = {
                dtype: session.trace
                if dtype == session.dtype
                else self.engine.rebuild(session.scenario, session.bug, dtype, values)
                for dtype in ("float64", "float32")
            }
            return door.sweep(traces, name, index)

        outcome = await run_in_daemon("backprop-sweep", run)
        if outcome.error is not None:  # the author's ops on float32: anything can happen
            model.notify(f"the sweep failed: {outcome.error}", "error", 6)
            return None
        assert outcome.value is not None
        return SweepResult(outcome.value, session.settings.eps)
