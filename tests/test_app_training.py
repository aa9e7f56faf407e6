"""The update step and training in the app (README "The update step, and training"): past the backward
pass one update step per parameter with its numbers, then the next iteration's forward pass with
the loss's change beside its prediction; T trains N iterations, , and . step through them, Space
plays them, l sets the learning rate and momentum. The numbers are checked against the sigmoid
chain's closed form, worked out here without the engine."""

from __future__ import annotations

import itertools
import math

import pytest
from app_support import settle, sync
from test_app_explore import inspector, status
from test_app_model import Services

from tui_backprop.app.app import make_app
from tui_backprop.app.model.model import Aspect
from tui_backprop.app.train.panel import TrainingPanel
from tui_backprop.app.train.service import Trainer

X, W0, W1, LR = 2.0, 3.0, -4.0, 0.1


def sigmoid(z: float) -> float:
    return 1 / (1 + math.exp(-z))


def chain(w0: float, w1: float) -> tuple[float, float, float]:
    """The sigmoid chain by hand: f = σ(w0·x + w1), df/dw0 = f(1-f)·x, df/dw1 = f(1-f)."""
    f = sigmoid(w0 * X + w1)
    return f, f * (1 - f) * X, f * (1 - f)


class Training(Services):
    def __init__(self) -> None:
        super().__init__()
        self.trainer = Trainer(self.model, self.loader.engine, self.loader, self.tasks, self.stepper)


@sync
async def test_past_the_backward_pass_each_parameter_steps_then_the_next_forward_runs_with_them():
    s = Training()
    await s.open("sigmoid-chain")
    session = s.model.session
    s.stepper.jump("backward_end")
    s.changes.clear()
    s.stepper.step(1)
    _, g0, g1 = chain(W0, W1)
    session = s.model.session
    assert session.update == 0 and session.current.phase == "update" and session.node_name == "w0"
    assert s.changes == [Aspect.STEP | Aspect.FOCUS]
    w0, w1 = session.pending.updates
    assert float(w0.after) == pytest.approx(W0 - LR * g0) and float(w1.after) == pytest.approx(W1 - LR * g1)
    assert session.pending.predicted == pytest.approx(-LR * (g0**2 + g1**2))
    s.stepper.step(1)
    assert session.update == 1 and session.node_name == "w1"
    s.stepper.step(-1)
    s.stepper.step(-1)
    assert session.update is None and session.step == session.backward_end  # back out of the update
    s.stepper.step(1)
    s.stepper.step(1)
    s.stepper.step(1)  # past the last update: iteration 1, its first forward step
    new = s.model.session
    assert new is not session and new.iteration == 1 and new.step == 0 and new.update is None
    assert float(new.trace.values["w0"]) == pytest.approx(W0 - LR * g0)
    after, _, _ = chain(W0 - LR * g0, W1 - LR * g1)
    assert new.trace.loss == pytest.approx(after)
    assert s.model.training.run.iterations[1].predicted == pytest.approx(-LR * (g0**2 + g1**2))
    await s.settle()  # its check runs again
    assert new.check_complete
    s.stepper.step(-1)  # back to iteration 0's last update step
    back = s.model.session
    assert back.iteration == 0 and back.update == 1 and back.pending is not None


@sync
async def test_the_learning_rate_and_momentum_are_set_and_later_iterations_dropped():
    s = Training()
    await s.open("sigmoid-chain")
    trainer = s.trainer
    assert trainer.optimizer().lr == pytest.approx(0.1)  # the scenario has no LEARNING_RATE
    state = trainer.ensure()
    state.run.run(3)
    assert state.last == 3
    assert trainer.set_from_text("lr 0.5 momentum 0.9") is None
    assert (s.model.optimizer.lr, s.model.optimizer.momentum) == (0.5, 0.9)
    assert state.last == 0  # iteration 0 is shown: what came after used the old setting
    assert "learning rate" in trainer.set_from_text("lr -1")
    assert "momentum" in trainer.set_from_text("momentum 1")
    assert trainer.set_from_text("fast") is not None and s.model.optimizer.lr == 0.5
    s.stepper.jump("backward_end")
    s.stepper.step(1)
    line = s.model.session.pending.updates[0].line()
    assert line.startswith("v = 0.9 · v + dL/dw0;  w0 ← w0 - lr · v")


@sync
async def test_training_runs_in_the_background_and_its_iterations_are_stepped_through_and_played():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("end")
        panel = app.debugger.query_one(TrainingPanel)
        assert not panel.display  # no iterations yet
        await pilot.press("T")
        await pilot.press("ctrl+u", *"30", "enter")
        await settle(app, pilot)
        training = app.model.training
        assert training is not None and training.last == 30 and panel.display
        session = app.model.session
        assert session.iteration == 30 and session.step == session.backward_end  # the same step
        losses = training.run.losses()
        assert all(b < a for a, b in itertools.pairwise(losses))  # SGD descends
        assert "iteration 30 of 30" in str(panel.render()) and "iteration 30/30" in status(app)
        await pilot.press("comma", "comma")
        await settle(app, pilot)
        assert app.model.session.iteration == 28 and app.model.session.step == session.backward_end
        app.model.pace = 0  # the fastest pace: a quarter of a second per iteration
        await pilot.press("space")
        assert app.model.playing and training.playing
        for _ in range(40):
            await pilot.pause(0.1)
            if not app.model.playing:
                break
        assert app.model.session.iteration == 30 and not app.model.playing


@sync
async def test_the_next_forward_shows_the_loss_beside_its_prediction():
    app = make_app("sigmoid-chain")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(app, pilot)
        await pilot.press("end", "n")
        text = " ".join(inspector(app).split())
        f, g0, g1 = chain(W0, W1)
        assert f"w0 ← w0 - lr · dL/dw0 = 3 - 0.1 · 0.21 = {W0 - LR * g0:.4g}" in text
        assert "ΔL ≈ -lr · Σ‖g‖² = -0.1 · 0.05512 = -0.005512" in text
        assert "update 1/2" in status(app)
        await pilot.press("n", "n", "end")  # iteration 1, then its last step: the loss reached
        app.stepper.go(app.model.session.step_of("f", "forward"))
        await pilot.pause()
        after, _, _ = chain(W0 - LR * g0, W1 - LR * g1)
        text = " ".join(inspector(app).split())
        assert f"loss {f:.4g} → {after:.4g}" in text
        assert f"ΔL = {after - f:.4g}, predicted -0.005512" in text
