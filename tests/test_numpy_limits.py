"""A tensor of 32 dimensions: every probe adds a batch axis (33), past numpy's ufunc limit. The
check falls back to probes that fit, so a correct built-in is never blamed (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest

from tui_backprop import Graph, ops
from tui_backprop.check.gradcheck import CheckSettings, check
from tui_backprop.core.trace import run

SHAPE = (2, 3) + (1,) * 30


def graph(square=ops.square):
    g = Graph()
    w = g.param("w", np.linspace(-1.0, 1.0, 6).reshape(SHAPE))
    c = g.param("c", np.full(SHAPE, 0.3))
    a = ops.relu(ops.add(ops.scale(w, 2.0, name="s"), c, name="a"), name="r")
    t = ops.tanh(ops.mul(a, w, name="m"), name="t")
    return g, ops.sum(square(t, name="q"), name="L")


@pytest.mark.parametrize("exhaustive", [False, True])
def test_a_32_dimensional_parameter_passes_and_every_element_is_compared(exhaustive):
    g, out = graph()
    trace = run(g, out)
    result = check(trace, CheckSettings.for_dtype("float64", exhaustive=exhaustive))
    assert result.verdict == "pass", {n: (c.status, c.note) for n, c in result.nodes.items()}
    assert all(c.n_probed == c.analytic.size for nc in result.nodes.values() for _, c in nc.comparisons())


def test_a_wrong_rule_on_a_32_dimensional_tensor_is_still_blamed_alone():
    g, out = graph(ops.square.with_backward(lambda u, out, t: t * u))
    result = check(run(g, out), CheckSettings.for_dtype("float64"))
    assert result.blame == ["q"]
