"""A wrong backward rule deep in a vanishing chain is blamed whatever gradient reaches it: the local
check runs again with a random upstream of order one (README, "How the check works")."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui_backprop import Graph, ops
from tui_backprop.check.gradcheck import CheckSettings, check
from tui_backprop.core.trace import run


def chain(g: Graph, layers: int, wrong_at: int | None):
    rng = np.random.default_rng(0)
    h = g.input("x", rng.standard_normal((8, 1)))
    for k in range(1, layers + 1):
        w = g.param(f"W{k}", rng.standard_normal((8, 8)) / math.sqrt(8) * 0.5)  # gradients vanish
        b = g.param(f"b{k}", rng.uniform(-0.1, 0.1, (8, 1)))
        tanh = ops.tanh
        if k == wrong_at:
            tanh = ops.tanh.with_backward(lambda u, out, z: u * (1 - out * out) * 1.5)
        h = tanh(ops.linear(w, h, b, name=f"z{k}"), name=f"a{k}")
    return ops.sum(ops.square(h, name="sq"), name="L")


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_a_wrong_rule_in_layer_2_of_50_is_blamed_alone(dtype):
    g = Graph(dtype)
    trace = run(g, chain(g, 50, wrong_at=2))
    assert float(np.max(np.abs(trace.grads["a2"]))) < 1e-12  # what reaches it is far below atol
    result = check(trace, CheckSettings.for_dtype(dtype))
    assert result.blame == ["a2"]
    assert "upstream of order one" in result.nodes["a2"].note


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_the_same_chain_right_blames_nothing(dtype):
    g = Graph(dtype)
    result = check(run(g, chain(g, 50, wrong_at=None)), CheckSettings.for_dtype(dtype))
    assert result.blame == [] and not result.failed
