"""Blame's words come from the data (README, "What is wrong, in words"): what the numbers show,
never a guess from a shape."""

from __future__ import annotations

import numpy as np
import pytest

from tui_backprop import Graph, custom_op, ops
from tui_backprop.check.gradcheck import CheckSettings, check
from tui_backprop.core.trace import run
from tui_backprop.layers import loss


def pool_forward(x):
    return x.reshape(x.shape[0] // 2, 2, x.shape[1] // 2, 2).max(axis=(1, 3))


def pool_average_backward(u, out, x):  # the bug: spread evenly, as an average pool would
    return np.repeat(np.repeat(u, 2, axis=0), 2, axis=1) / 4


def diagnosis(g: Graph, out, dtype: str = "float64") -> dict[str, dict[int, str]]:
    result = check(run(g, out), CheckSettings.for_dtype(dtype))
    return {name: result.nodes[name].diagnosis for name in result.blame}


def test_a_max_pool_that_averages_is_told_it_sends_gradient_where_nothing_depends():
    g = Graph()
    pool = custom_op("maxpool", pool_forward, pool_average_backward)
    x = g.param("x", np.random.default_rng(0).standard_normal((4, 6)))
    words = diagnosis(g, ops.sum(ops.square(pool(x, name="p"), name="q"), name="L"))
    assert "gradient sent to elements that do not affect the output" in words["p"][0]
    assert "averaged where it should sum" not in words["p"][0]


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_leaky_relu_with_the_slope_everywhere_is_a_constant_not_a_path_not_propagated(dtype):
    g = Graph(dtype)
    leaky = custom_op(
        "leaky", lambda x: np.where(x > 0, x, 0.01 * x), lambda u, out, x: 0.01 * u, kink=lambda x: x
    )
    x = g.param("x", np.array([0.5, -1.0, 2.0, -0.3, 1.5]))
    words = diagnosis(g, ops.sum(ops.square(leaky(x, name="y"), name="q"), name="L"), dtype)
    assert "0.01 × numeric" in words["y"][0] or "1/100 × numeric" in words["y"][0]
    assert "not propagated" not in words["y"][0]


def test_a_product_with_a_flipped_sign_is_not_asked_about_prediction_and_target():
    g = Graph()
    mul = ops.mul.with_backward(lambda u, out, x, w: (-u * w, -u * x))
    x = g.input("x", 2.0)
    w = g.param("w", 0.5)
    words = diagnosis(g, ops.square(mul(x, w, name="a"), name="L"))
    assert "sign flipped" in words["a"][1] and "swapped" not in words["a"][1]


def mse(pred, target):
    return np.sum((pred - target) ** 2), 2 * (target - pred)  # the bug: target - pred


def test_a_loss_made_with_loss_that_flips_the_sign_is_asked_about_prediction_and_target():
    g = Graph()
    p = g.param("p", np.array([0.2, 0.7, -0.1]))
    words = diagnosis(g, loss(mse, p, np.array([0.0, 1.0, 0.5])))
    assert words["loss"][0] == (
        "sign flipped: analytic is -1 × numeric (for a loss: are prediction and target swapped?)"
    )


def test_a_two_input_loss_whose_backward_swaps_the_roles_is_asked_from_the_numbers():
    g = Graph()
    sq = custom_op(
        "sqerr",
        lambda p, t: np.sum((p - t) ** 2),
        lambda u, out, p, t: (2 * u * (t - p), 2 * u * (p - t)),  # each gets the other's gradient
    )
    p = g.param("p", np.array([0.2, 0.7, -0.1]))
    t = g.input("t", np.array([0.0, 1.0, 0.5]))
    words = diagnosis(g, sq(p, t, name="e"))
    assert "are prediction and target swapped?" in words["e"][0]


def test_a_constant_is_named_as_a_fraction_only_with_small_numbers():
    from tui_backprop.check.diagnosis import describe_constant

    assert describe_constant(11 / 12, set(), False, 1e-3) == "analytic is 11/12 × numeric"
    assert describe_constant(13 / 12, set(), False, 1e-3) == "analytic is 1.083 × numeric"
    assert describe_constant(-3 / 4, set(), True, 1e-3) == "analytic is -3/4 × numeric"
