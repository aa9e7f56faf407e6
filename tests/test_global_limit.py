"""The global check's limit, said honestly (README, "How the check works"): an element whose global
gradient is below the probe's round-off is unchecked with that reason, never ok; a float32 run's
global check is judged in float64 where its code runs in float64."""

from __future__ import annotations

import math

import numpy as np

from tui_backprop import Graph, custom_op, ops
from tui_backprop.check.gradcheck import CheckSettings, check
from tui_backprop.check.verdict import BELOW_NOISE, OK, UNCHECKED
from tui_backprop.core.trace import run


def tanh_chain(g: Graph, layers: int):
    """``layers`` times tanh(W h + b), 8 wide: its gradient vanishes towards the input."""
    rng = np.random.default_rng(0)
    h = g.input("x", rng.standard_normal((8, 1)))
    for k in range(1, layers + 1):
        w = g.param(f"W{k}", rng.standard_normal((8, 8)) / math.sqrt(8) * 1.2)
        b = g.param(f"b{k}", rng.uniform(-0.1, 0.1, (8, 1)))
        h = ops.tanh(ops.linear(w, h, b, name=f"z{k}"), name=f"a{k}")
    return ops.sum(ops.square(h, name="sq"), name="L")


def test_a_gradient_below_the_probe_noise_is_unchecked_with_that_reason_never_ok():
    for dtype in ("float64", "float32"):
        g = Graph(dtype)
        result = check(run(g, tanh_chain(g, 250)), CheckSettings.for_dtype(dtype))
        assert result.blame == [] and not result.failed and result.verdict == "incomplete"
        early = result.nodes["W1"].grad
        assert early.reasons == {BELOW_NOISE: 64} and not np.any(early.codes == OK)
        assert result.nodes["W250"].grad.status == "ok"  # near the loss the probe sees every element
        assert all(nc.local_status == "ok" for nc in result.nodes.values() if nc.local_status)


def test_an_exact_zero_the_probe_shows_exactly_stays_compared_and_ok():
    g = Graph()
    x = g.param("x", np.array([-1.0, -2.0, 0.5]))
    result = check(
        run(g, ops.sum(ops.square(ops.relu(x, name="r"), name="q"), name="L")),
        CheckSettings.for_dtype("float64"),
    )
    grad = result.nodes["x"].grad
    assert result.verdict == "pass" and grad.codes.tolist() == [OK, OK, OK] and grad.n_probed == 3
    assert not np.any(grad.codes == UNCHECKED)


F32 = CheckSettings.for_dtype("float32")


def test_float32_global_check_is_judged_in_float64_softmax_near_1e4_has_no_false_kink():
    g = Graph("float32")
    x = g.param("x", 1e4 + np.array([0.0, 0.3, -0.2, 0.1]))
    t = g.input("t", np.array([0.0, 1.0, 0.0, 0.0]))
    result = check(run(g, ops.sum(ops.mul(ops.log_softmax(x, name="ls"), t, name="m"), name="L")), F32)
    assert result.verdict == "pass" and result.global_judged_in == "float64"
    assert all(c.n_kink == 0 for nc in result.nodes.values() for _, c in nc.comparisons())


def test_float32_cancelling_loss_at_1e4_passes_correct_code():
    g = Graph("float32")
    x = g.param("x", np.array([1e4, 1e4 + 1]))
    one = g.input("one", np.ones(2))
    d = ops.sub(ops.square(x, name="a"), ops.square(ops.add(x, one, name="x1"), name="b"), name="d")
    assert check(run(g, ops.sum(d, name="L")), F32).verdict == "pass"


def test_float32_relu_at_zero_without_kink_and_a_loss_around_1e4_pass():
    g = Graph("float32")
    x = g.param("x", np.array([0.0, 1.0, -1.0]))
    relu = custom_op("myrelu", lambda x: np.maximum(x, 0), lambda u, out, x: u * (x > 0))
    c = g.input("c", np.array([2.0, 3.0, 4.0]))
    result = check(run(g, ops.sum(ops.mul(relu(x, name="r"), c, name="y"), name="L")), F32)
    assert not result.failed and result.blame == []
    g = Graph("float32")
    x = g.param("x", np.array([100.0, 101.0, 99.5]))
    assert check(run(g, ops.sum(ops.square(x, name="q"), name="L")), F32).verdict == "pass"


def test_float32_code_that_forces_float32_is_judged_in_float32_and_says_why():
    g = Graph("float32")
    x = g.param("x", np.array([0.5, 1.5]))
    narrow = custom_op("narrow", lambda x: np.tanh(x).astype(np.float32), lambda u, out, x: u * (1 - out**2))
    result = check(run(g, ops.sum(narrow(x, name="n"), name="L")), F32)
    assert result.verdict == "pass" and result.global_judged_in.startswith("float32 (the forward of n")


def test_float32_a_wrong_backward_is_still_blamed_with_the_global_check_in_float64():
    g = Graph("float32")
    x = g.param("x", np.array([1e4, 1e4 + 1]))
    wrong = ops.square.with_backward(lambda u, out, x: 2.2 * x * u)
    result = check(run(g, ops.sum(wrong(x, name="q"), name="L")), F32)
    assert result.blame == ["q"] and result.nodes["x"].grad.status == "mismatch"


def test_sampled_elements_below_the_probe_noise_are_unchecked_too_never_ok():
    """--sample: the elements drawn obey the same limit (their gradient, about 2e-9, is far below
    the round-off of F ≈ 4e7 probed at eps = 1e-6)."""
    g = Graph()
    x = g.param("x", np.linspace(-1, 1, 40))
    y = ops.add_const(ops.scale(x, 1e-12, name="s"), 1e3, name="y")
    result = check(
        run(g, ops.sum(ops.square(y, name="q"), name="L")), CheckSettings.for_dtype("float64", sample=8)
    )
    grad = result.nodes["x"].grad
    assert grad.reasons == {BELOW_NOISE: 8} and not np.any(grad.codes == OK)
    assert result.verdict == "incomplete" and not result.failed
