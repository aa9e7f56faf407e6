"""What a projection promises (README, "How the check works"): its tolerance comes from the noise of
the projected estimate, not from a sum over the tensor, and every element off by more than the stated
bound is blamed and listed."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from tui_backprop import Graph, custom_op, ops
from tui_backprop.check import budget, projection
from tui_backprop.check.gradcheck import MISMATCH, CheckSettings, check
from tui_backprop.check.verdict import COVERED
from tui_backprop.core.trace import run

F64 = CheckSettings.for_dtype("float64")
pytestmark = pytest.mark.usefixtures("no_colouring")


def softsign_graph(size: int, wrong: dict[int, float], dtype: str = "float64", seed: int = 1):
    """sum(softsign(x)²) with a custom softsign (no elementwise=True: nothing says it is cheap)
    whose backward multiplies the elements of ``wrong`` by their factor."""

    def backward(u, out, x):
        g = u / (1 + np.abs(x)) ** 2
        for k, factor in wrong.items():
            g[k] *= factor
        return g

    g = Graph(dtype)
    softsign = custom_op("softsign", lambda x: x / (1 + np.abs(x)), backward)
    x = g.param("x", np.random.default_rng(seed).standard_normal(size))
    return g, ops.sum(ops.square(softsign(x, name="s"), name="q"), name="L")


def mismatching(comparison) -> list[int]:
    return [int(i) for i in np.flatnonzero(comparison.codes == MISMATCH)]


def test_one_element_one_percent_off_in_a_100k_custom_op_is_blamed_and_listed():
    g, out = softsign_graph(100_000, {77_777: 1.01})
    trace = run(g, out)
    result = check(trace, F64)
    sent = result.nodes["s"].local[0]
    assert sent.method == "projection" and result.blame == ["s"]
    assert mismatching(sent) == [77_777]
    error = abs(trace.contributions["s"][0][77_777]) * 0.01 / 1.01
    # A lone wrong element is found for certain above bound / BOUND_FACTOR: 1 % of its own value
    # is above that for all but the elements whose gradient is near 0 (x near 0 here).
    certain = sent.bound / projection.BOUND_FACTOR
    assert certain < error and certain < 0.01 * np.quantile(np.abs(trace.contributions["s"][0]), 0.01)
    assert mismatching(result.nodes["x"].grad) == [77_777]  # and the global check lists it too
    # the halving probed a few elements one by one; every other stays covered, with no value of its own
    assert 0 < sent.n_probed <= 2 * projection.LEAF and sent.n_unchecked == 0
    assert sent.n_covered == 100_000 - sent.n_probed and np.isnan(sent.numeric[sent.codes == COVERED]).all()


def test_every_element_off_by_more_than_the_bound_is_listed_and_no_other():
    wrong = {k: 1.05 for k in range(5, 5000, 499)}
    g, out = softsign_graph(5000, wrong)
    trace = run(g, out)
    sent = check(trace, F64).nodes["s"].local[0]
    true = trace.contributions["s"][0] / np.array([wrong.get(k, 1.0) for k in range(5000)])
    above = [k for k in wrong if abs(trace.contributions["s"][0][k] - true[k]) > sent.bound]
    assert len(above) >= 8 and set(above) <= set(mismatching(sent)) <= set(wrong)


def test_the_same_op_right_is_covered_with_no_element_probed():
    g, out = softsign_graph(100_000, {})
    result = check(run(g, out), F64)
    sent = result.nodes["s"].local[0]
    assert (sent.status, sent.n_probed, sent.n_covered) == ("ok", 0, 100_000)
    assert result.verdict == "pass"


def test_the_tolerance_does_not_grow_with_the_tensor():
    small = check(run(*softsign_graph(10_000, {})), F64).nodes["s"].local[0].bound
    large = check(run(*softsign_graph(100_000, {})), F64).nodes["s"].local[0].bound
    assert large < 20 * small  # F's own magnitude grows 10x; a sum of per-element tolerances 10x more


@pytest.mark.parametrize("size", [100, 3000, 100_000, 1_000_000, 10**8])
def test_directions_are_the_fewest_that_miss_with_probability_below_one_in_a_thousand(size):
    count = projection.directions_for(size)
    levels = 1 + max(0, math.ceil(math.log2(size / projection.LEAF)))
    per_direction = 2 / projection.BOUND_FACTOR
    assert levels * per_direction**count <= projection.MISS < levels * per_direction ** (count - 1)


def test_directions_have_independent_signs_and_weights_in_half_to_one():
    rows = projection.random_directions(np.random.default_rng(0), 5, 10_000)
    weights = np.abs(rows)
    assert weights.min() >= 0.5 and weights.max() <= 1.0
    signs = np.sign(rows)
    assert abs(signs.mean()) < 0.05
    for a, b in itertools.combinations(signs, 2):  # another draw per direction, not one shared
        assert 0.4 < np.mean(a == b) < 0.6


@pytest.mark.parametrize("rows", [1, 2, 5])
def test_directions_made_a_few_rows_at_a_time_are_the_ones_halving_makes_at_once(rows):
    """The first pass makes the directions a block at a time (memory); the halving that follows a
    failure makes them again at once: the same directions, or it would search along others."""
    key, size = (7, 3, 2), 10_001
    blocks = list(projection._generated(key, 5, size, rows))
    assert all(len(b) <= rows for b in blocks)
    at_once = projection.random_directions(np.random.default_rng(list(key)), 5, size)
    assert np.array_equal(np.concatenate(blocks), at_once)


def dense_net(g: Graph, wrong: tuple[int, int] | None = None):
    """A relu MLP whose dense layer is the user's own op: projections must step past relu's kinks."""

    def backward(u, out, w, h, b):
        dw = u @ h.T
        if wrong is not None and w.shape == (24, 40):
            dw[wrong] *= 1.001
        return dw, w.T @ u, u.sum(axis=1, keepdims=True)

    dense = custom_op("dense", lambda w, h, b: w @ h + b, backward, "{out} = {0}·{1} + {2}")
    rng = np.random.default_rng(0)
    h = g.input("x", rng.standard_normal((40, 16)))
    for k, (fan_in, fan_out) in enumerate(itertools.pairwise([40, 24, 12, 4]), start=1):
        w = g.param(f"W{k}", rng.uniform(-0.5, 0.5, (fan_out, fan_in)))
        b = g.param(f"b{k}", rng.uniform(-0.1, 0.1, (fan_out, 1)))
        h = ops.relu(dense(w, h, b, name=f"z{k}"), name=f"a{k}")
    return ops.sum(ops.square(h, name="sq"), name="L")


def test_a_user_dense_layer_projected_past_relu_kinks_probes_nothing_when_right(monkeypatch):
    monkeypatch.setattr(budget, "PROJECT_WORK", 1 << 8)  # project everything that can be
    g = Graph()
    result = check(run(g, dense_net(g)), F64)
    projected = [c for nc in result.nodes.values() for _, c in nc.comparisons() if c.method == "projection"]
    assert len(projected) >= 6 and result.verdict == "pass"
    assert all(c.n_probed == 0 for c in projected)  # no false alarm sent the halving anywhere


def test_a_user_dense_layer_with_one_weight_gradient_off_by_a_thousandth_is_blamed(monkeypatch):
    monkeypatch.setattr(budget, "PROJECT_WORK", 1 << 8)
    g = Graph()
    result = check(run(g, dense_net(g, wrong=(7, 13))), F64)
    sent = result.nodes["z1"].local[0]
    assert result.blame == ["z1"] and sent.method == "projection"
    assert [tuple(int(i) for i in ix) for ix in np.argwhere(sent.codes == MISMATCH)] == [(7, 13)]


def test_a_projection_whose_step_crosses_a_relu_kink_retries_smaller_steps_and_probes_nothing(monkeypatch):
    """z[7] sits 5e-7 from relu's kink: steps of eps move it past 0, a step 100x smaller does not."""
    monkeypatch.setattr(budget, "PROJECT_WORK", 1 << 8)
    rng = np.random.default_rng(4)
    m = rng.standard_normal((40, 300)) / np.sqrt(300)
    x0 = rng.standard_normal(300)
    shift = np.zeros(40)
    shift[7] = 5e-7 - (m @ x0)[7]
    mix = custom_op("mix", lambda x: m @ x + shift, lambda u, out, x: m.T @ u)
    g = Graph()
    x = g.param("x", x0)
    out = ops.sum(ops.square(ops.relu(mix(x, name="z"), name="r"), name="q"), name="L")
    result = check(run(g, out), F64)
    grad = result.nodes["x"].grad
    assert grad.method == "projection" and result.verdict == "pass"
    assert grad.n_probed == 0  # the kinked directions were tried again, not sent to the halving


def test_a_projection_whose_probe_leaves_the_domain_states_no_bound():
    """log near 0: a direction's step leaves the domain and its estimate is NaN. That direction is
    no guarantee: the bound is infinite, not NaN, and the element is judged one by one."""
    g = Graph()
    log = custom_op("mylog", np.log, lambda u, out, x: u / x)
    values = np.random.default_rng(1).uniform(1, 2, 5000)
    values[7] = 5e-7
    result = check(run(g, ops.sum(ops.square(log(g.param("x", values), name="s"), name="q"), name="L")), F64)
    sent = result.nodes["s"].local[0]
    assert (sent.method, sent.status, result.verdict) == ("projection", "ok", "pass")
    assert sent.bound == math.inf and sent.codes[7] == 0
