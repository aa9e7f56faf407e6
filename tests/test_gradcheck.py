"""The checker itself: kinks, non-finite values, float32 round-off, batching, sampling, blame."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tui_backprop import Graph, Op
from tui_backprop.check import export
from tui_backprop.check.gradcheck import KINK, MISMATCH, OK, UNCHECKED, CheckSettings, check
from tui_backprop.core import ops, scenarios
from tui_backprop.core.trace import run

F64 = CheckSettings.for_dtype("float64")


def checked(build, dtype: str = "float64", **overrides):
    g = Graph(dtype)
    out = build(g)
    return check(run(g, out), CheckSettings.for_dtype(dtype, **overrides))


@pytest.mark.parametrize("op", [ops.relu, ops.abs])
@pytest.mark.parametrize("at", [0.0, 1e-7, -4e-7])
def test_relu_and_abs_at_or_next_to_zero_report_kink_not_mismatch(op, at):
    result = checked(lambda g: ops.sum(ops.scale(op(g.input("x", [at, 1.5, -2.0]), name="y"), 3.0), name="L"))
    x = result.nodes["x"]
    assert x.status == "kink"
    assert x.grad.codes.tolist() == [KINK, OK, OK]
    assert result.nodes["y"].local_status == "kink"
    assert not result.failed and result.blame == []


def test_a_kink_does_not_hide_a_real_bug_elsewhere_in_the_same_tensor():
    wrong = ops.relu.with_backward(lambda u, out, x: 0.5 * u * (x > 0))
    result = checked(lambda g: ops.sum(wrong(g.input("x", [0.0, 1.5, -2.0]), name="y"), name="L"))
    assert result.nodes["x"].grad.codes.tolist() == [KINK, MISMATCH, OK]
    assert result.blame == ["y"]


def test_max_at_a_tie_is_a_kink():
    def build(g):
        a, b = g.param("a", [1.0, 2.0]), g.param("b", [1.0, 0.0])
        return ops.sum(ops.maximum(a, b, name="m"), name="L")

    result = checked(build)
    assert result.nodes["a"].grad.codes.tolist() == [KINK, OK]
    assert result.nodes["m"].local_status == "kink"


def test_nan_is_reported_where_it_first_appears_and_fails_the_check():
    def build(g):
        x = g.input("x", [0.0, 2.0])
        y = ops.log(x, name="y")
        return ops.sum(ops.scale(y, 2.0, name="z"), name="L")

    result = checked(build)
    assert result.nodes["y"].status == "nonfinite"
    assert "[0]" in result.nodes["y"].note
    assert result.nodes["z"].status == "unchecked"
    assert result.nodes["z"].note == "a non-finite value reaches it"
    assert result.failed


def test_a_non_finite_given_value_is_named_with_its_index_and_a_scalar_without_one():
    named = (([1.0, np.inf], "the given value is inf at [1]"), (np.inf, "the given value is inf"))
    for value, words in named:
        result = checked(lambda g, v=value: ops.sum(ops.square(g.input("x", v), name="q"), name="L"))
        assert result.nodes["x"].status == "nonfinite"
        assert result.nodes["x"].note == f"{words}; the ops it reaches pass it on"


def test_a_nan_given_in_the_data_is_the_inputs_and_no_built_in_passing_it_on_is_blamed():
    """x[0, 1] is NaN: mul's and tanh's backwards faithfully send NaN on (to w, to z); the report
    names x and the element, and no built-in as the origin of a non-finite gradient."""

    def build(g):
        x = g.input("x", [[0.5, np.nan, 2.0]])
        z = ops.mul(g.param("w", [[1.5, 0.3, -0.7]]), x, name="z")
        return ops.sum(ops.tanh(z, name="t"), name="L")

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # (no RuntimeWarning from the check's own arithmetic either)
        result = checked(build)
    assert result.failed and result.blame == []
    assert (result.nodes["x"].status, result.nodes["x"].note.split(";")[0]) == (
        "nonfinite",
        "the given value is nan at [0, 1]",
    )
    assert {n: result.nodes[n].status for n in ("w", "z", "t", "L")} == dict.fromkeys("wztL", "unchecked")


def test_a_backward_that_sends_infinity_is_the_nonfinite_origin():
    blowup = ops.square.with_backward(lambda u, out, x: u / (x - x))

    def build(g):
        return ops.sum(blowup(g.input("x", [1.0, 2.0]), name="sq"), name="L")

    result = checked(build)
    assert result.nodes["sq"].status == "nonfinite"
    assert "backward" in result.nodes["sq"].note
    assert result.failed


def test_float32_round_off_is_not_a_mismatch_but_a_small_real_error_is():
    def build(g, factor=1.0):
        x = g.param("x", np.linspace(-2, 2, 7))
        sloppy = ops.tanh.with_backward(lambda u, out, v: factor * u * (1 - out * out))
        h = sloppy(ops.scale(x, 3.0, name="s"), name="h")
        return ops.sum(ops.square(h, name="q"), name="L")

    assert not checked(build, "float32").failed
    result = checked(lambda g: build(g, factor=1.05), "float32")
    assert result.blame == ["h"]


def test_batched_numeric_gradient_equals_a_naive_per_element_loop():
    trace = scenarios.trace_scenario(scenarios.load("two-layer-net"))
    result = check(trace, F64)
    graph, out = trace.graph, trace.output

    def loss_with(name, value):
        values = dict(trace.values)
        values[name] = value
        for node in graph.nodes:
            if node.op is not None and node.index > graph[name].index:
                values[node.name] = node.op.forward(*(values[p.name] for p in node.inputs))
        return float(values[out.name])

    for name in ["W1", "b1", "x", "z1", "a1", "W2", "a2"]:
        base = trace.values[name]
        naive = np.zeros_like(base)
        for k in np.ndindex(base.shape):
            plus, minus = base.copy(), base.copy()
            plus[k] += 1e-6
            minus[k] -= 1e-6
            naive[k] = (loss_with(name, plus) - loss_with(name, minus)) / 2e-6
        np.testing.assert_allclose(result.nodes[name].grad.numeric, naive, rtol=1e-6, atol=1e-9, err_msg=name)


def test_sampled_mode_probes_k_seeded_elements_per_large_tensor():
    trace = scenarios.trace_scenario(scenarios.load("deep-mlp"))
    first = check(trace, CheckSettings.for_dtype("float64", sample=16))
    second = check(trace, CheckSettings.for_dtype("float64", sample=16))
    w1 = first.nodes["W1"].grad
    assert w1.n_probed == 16
    assert np.count_nonzero(w1.codes == UNCHECKED) == w1.analytic.size - 16
    assert np.array_equal(w1.codes, second.nodes["W1"].grad.codes)
    assert first.nodes["b6"].grad.n_probed == 4  # smaller than K: every element
    assert not first.failed


def test_sampled_mode_still_catches_a_wrong_layer():
    trace = scenarios.trace_scenario(scenarios.load("deep-mlp"), "relu-passes-negatives")
    result = check(trace, CheckSettings.for_dtype("float64", sample=8))
    assert result.blame == ["a3"]


def test_custom_op_backward_errors_are_reported_on_the_node_with_file_and_line():
    def forward(x):
        return x * 2

    def backward(u, out, x):
        raise ValueError("I forgot to write this")

    broken = Op("double", forward, backward, "{out} = 2·{0}")
    g = Graph()
    y = broken(g.input("x", [1.0, 2.0]), name="y")
    trace = run(g, ops.sum(y, name="L"))
    failure = trace.failures["y"]
    assert "ValueError: I forgot to write this" in failure.message
    assert failure.origin.filename == __file__
    result = check(trace, F64)
    assert result.blame == ["y"]
    _, local = export.node_check(result.nodes["y"], trace)
    assert "ValueError: I forgot to write this" in local["error"]
    assert local["origin"] == str(failure.origin) and local["origin"].startswith(__file__ + ":")


@pytest.mark.parametrize(
    ("backward", "message"),
    [
        (lambda u, out, x: None, "returned None"),
        (lambda u, out, x: u.reshape(-1)[:1], "shape [1] for input 'x' of shape [2]"),
        (lambda u, out, x: (u, u), "2 gradient(s) for 1 input(s)"),
        (lambda u, out, x: np.array(["a", "b"]), "expected real numbers"),
    ],
)
def test_unusable_backward_results_are_named(backward, message):
    g = Graph()
    y = Op("double", lambda x: 2 * x, backward)(g.input("x", [1.0, 2.0]), name="y")
    trace = run(g, ops.sum(y, name="L"))
    assert message in trace.failures["y"].message


def test_user_backward_cannot_corrupt_the_trace_by_writing_into_its_arguments():
    def clobbering(u, out, x):
        u[...] = 0.0
        x[...] = 99.0
        return 2 * np.ones_like(x)

    g = Graph()
    x = g.input("x", [1.0, 2.0])
    y = Op("double", lambda v: 2 * v, clobbering)(x, name="y")
    trace = run(g, ops.sum(y, name="L"))
    np.testing.assert_array_equal(trace.values["x"], [1.0, 2.0])
    np.testing.assert_array_equal(trace.grads["y"], [1.0, 1.0])
    assert not check(trace, F64).failed


def test_an_output_whose_change_falls_below_its_last_bit_still_carries_round_off():
    """tanh(7.4) in float32: ±1e-3 moves the output by less than one bit, so the numeric derivative
    is exactly 0 while the true one is 1.5e-6. That is round-off, not a wrong backward."""
    import dataclasses

    # A tanh whose code insists on float32 is judged in float32 (the built-in one in float64).
    tanh32 = dataclasses.replace(ops.tanh, forward=lambda v: np.tanh(v).astype(np.float32))
    g = Graph("float32")
    x = g.input("x", np.full(3, 7.389))
    trace = run(g, ops.sum(tanh32(x, name="t"), name="L"))
    result = check(trace, CheckSettings.for_dtype("float32"))
    assert result.nodes["t"].judged_in.startswith("float32")
    numeric_local = result.nodes["t"].local[0].numeric
    assert np.all(numeric_local == 0)  # the case this test is about: nothing moved
    assert not result.failed, {n: c.status for n, c in result.nodes.items()}
    assert result.blame == []


def test_a_float32_rule_is_judged_against_float64_where_the_code_allows_it():
    g = Graph("float32")
    x = g.input("x", np.full(3, 7.389))
    result = check(run(g, ops.sum(ops.tanh(x, name="t"), name="L")), CheckSettings.for_dtype("float32"))
    t = result.nodes["t"]
    assert t.judged_in == "float64" and t.status == "ok"
    x32 = np.float64(np.float32(7.389))
    np.testing.assert_allclose(t.local[0].numeric, 1 - np.tanh(x32) ** 2, rtol=0, atol=1e-9)  # not 0


def test_settings_given_override_the_dtype_defaults_and_the_rest_stay():
    given = CheckSettings.for_dtype("float32", eps=1e-2, rtol=1e-3, atol=1e-5)
    assert (given.eps, given.rtol, given.atol) == (1e-2, 1e-3, 1e-5)
    f32 = CheckSettings.for_dtype("float32")
    assert CheckSettings.for_dtype("float32", atol=1e-5).eps == f32.eps
    assert CheckSettings.for_dtype("float32", eps=1e-2).atol == f32.atol
