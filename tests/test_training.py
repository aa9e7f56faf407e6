"""The update step and training: the numbers of w ← w - lr·g, the first-order prediction, N iterations."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tui_backprop.cli.main import main
from tui_backprop.core import scenarios
from tui_backprop.core.trace import run
from tui_backprop.teach.training import (
    Optimizer,
    Training,
    TrainingError,
    parameters,
    scenario_accuracy,
    update,
)


def built(slug: str, bug: str | None = None, dtype: str = "float64"):
    return scenarios.build(scenarios.load(slug), bug, dtype)


def test_an_sgd_step_moves_each_parameter_against_its_gradient_with_the_lectures_numbers():
    graph, output = built("sigmoid-chain")
    trace = run(graph, output)
    step = update(trace, Optimizer(0.1))
    assert [u.name for u in step.updates] == ["w0", "w1"]  # params only: x is data
    w0 = step.updates[0]
    assert float(w0.after) == pytest.approx(3 - 0.1 * float(trace.grads["w0"]))
    assert w0.line() == "w0 ← w0 - lr · dL/dw0 = 3 - 0.1 · 0.21 = 2.979"
    squared = sum(float(trace.grads[n]) ** 2 for n in ("w0", "w1"))
    assert step.predicted == pytest.approx(-0.1 * squared)
    assert step.prediction_line() == "ΔL ≈ -lr · Σ‖g‖² = -0.1 · 0.05512 = -0.005512"


def test_a_one_element_matrix_parameter_is_updated_as_a_number():
    """two-layer-net's b2 is 1×1: its line is written as the circuit writes it (numpy 2 refuses
    float() of a 1×1 array, which once ended the app at b2's update)."""
    graph, output = built("two-layer-net")
    step = update(run(graph, output), Optimizer(0.1))
    (b2,) = [u for u in step.updates if u.name == "b2"]
    assert b2.before.shape == (1, 1)
    assert b2.line() == "b2 ← b2 - lr · dL/db2 = 0.6011 - 0.1 · (-0.2277) = 0.6239"


def test_the_prediction_matches_the_next_forward_to_first_order_and_a_wrong_gradient_does_not():
    for bug, agrees in ((None, True), ("reciprocal-sign", False)):
        graph, output = built("sigmoid-chain", bug)
        trace = run(graph, output)
        step = update(trace, Optimizer(0.01))
        actual = run(graph, output, step.values).loss - trace.loss
        close = abs(actual - step.predicted) <= 0.05 * abs(step.predicted)
        assert close == agrees, (bug, step.predicted, actual)
        if bug:  # the sign bug predicts a fall; the loss rises
            assert step.predicted < 0 < actual


def test_momentum_steps_along_the_accumulated_velocity():
    graph, output = built("sigmoid-chain")
    t = Training(graph, output, Optimizer(0.1, momentum=0.9))
    t.run(2)
    g1 = {n: np.asarray(t.trace(0).grads[n]) for n in ("w0", "w1")}
    g2 = {n: np.asarray(t.trace(1).grads[n]) for n in ("w0", "w1")}
    expected = 3 - 0.1 * g1["w0"] - 0.1 * (0.9 * g1["w0"] + g2["w0"])
    assert float(t.iterations[2].values["w0"]) == pytest.approx(float(expected))


def test_training_keeps_every_iteration_and_rebuilds_any_trace_exactly():
    graph, output = built("two-layer-net")
    t = Training(graph, output, Optimizer(0.5))
    t.run(12)
    assert len(t) == 13 and t.losses()[-1] < t.losses()[0]
    rebuilt = Training(graph, output, Optimizer(0.5))
    rebuilt.run(12)
    for k in (0, 3, 12):  # stepping back: the same trace, from the kept parameter values alone
        np.testing.assert_array_equal(t.trace(k).grads["W1"], rebuilt.trace(k).grads["W1"])
        assert t.trace(k).loss == t.iterations[k].loss
    t.restart_from(3)
    t.optimizer = Optimizer(0.01)
    t.step()
    assert len(t) == 5 and t.iterations[4].loss != rebuilt.iterations[4].loss


def test_training_the_digits_mlp_lowers_the_loss_and_raises_the_accuracy():
    scenario = scenarios.load("digits")
    graph, output = scenarios.build(scenario)
    t = Training(
        graph, output, Optimizer(scenario.module.LEARNING_RATE), accuracy=scenario_accuracy(scenario.module)
    )
    t.run(60)
    first, last = t.iterations[0], t.iterations[-1]
    assert first.accuracy < 0.3 and last.accuracy > 0.9
    assert last.loss < first.loss / 5
    assert [p.name for p in parameters(graph, output)] == ["W1", "b1", "W2", "b2"]


def test_a_bad_learning_rate_is_refused_with_a_message():
    for lr in (0, -1, float("nan"), float("inf")):
        with pytest.raises(TrainingError, match="learning rate"):
            Optimizer(lr)
    with pytest.raises(TrainingError, match="momentum"):
        Optimizer(0.1, 1.0)


def test_trace_train_adds_a_training_field_and_keeps_the_steps(capsys):
    assert main(["trace", "sigmoid-chain"]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main(["trace", "sigmoid-chain", "--train", "3", "--lr", "0.5"]) == 0
    trained = json.loads(capsys.readouterr().out)
    assert trained["steps"] == plain["steps"] and trained["nodes"] == plain["nodes"]
    training = trained["training"]
    assert training["optimizer"] == {"method": "sgd", "lr": 0.5, "momentum": 0.0}
    assert [row["index"] for row in training["iterations"]] == [0, 1, 2, 3]
    assert training["iterations"][0]["loss"] == plain["output"]["value"]
    assert training["update"][0]["param"] == "w0"
    assert training["update"][0]["new_value"] == pytest.approx(3 - 0.5 * training["update"][0]["grad"])


def test_trace_train_in_markdown_has_the_update_and_a_row_per_iteration(capsys):
    assert main(["trace", "digits", "--train", "4", "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "## Training" in out and "ΔL ≈ -lr · Σ‖g‖²" in out
    assert "| 4 |" in out and "%" in out  # the digits scenario reports accuracy


@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--lr", "0"], "--lr: must be a positive"),
        (["--momentum", "1"], "--momentum"),
        (["--train", "0"], "--train"),
    ],
)
def test_trace_train_refuses_bad_settings(argv, said, capsys):
    assert main(["trace", "sigmoid-chain", "--train", "2", *argv]) == 2
    assert said in capsys.readouterr().err
