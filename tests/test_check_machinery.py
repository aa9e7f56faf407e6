"""What the checker's machinery must get right, each test the killer of a mutant of
``tui_backprop/check/`` that once survived the suite (issue 14, benchmarks/mutation_survivors.md):
no false kinks from the two-run estimate, counts that add up over a node's comparisons, the JSON of
a node's local check, a backward that raises only at unit scale, kinks under a projection, a
projection too coarse to verify anything, and the words for a coupled op and for a broadcast
scalar."""

from __future__ import annotations

import numpy as np
import pytest

from tui_backprop import Graph, custom_op, ops
from tui_backprop.check.export import node_check
from tui_backprop.check.gradcheck import KINK, CheckSettings, check
from tui_backprop.core.trace import run

F64 = CheckSettings.for_dtype("float64")
BIG = 120_000
"""Too many elements to probe one by one."""


def test_a_big_elementwise_op_judged_from_two_runs_shows_no_kink_where_there_is_none():
    g = Graph()
    x = g.param("x", np.random.default_rng(0).uniform(-1, 1, BIG))
    c = g.input("c", np.linspace(1, 2, BIG))
    result = check(run(g, ops.sum(ops.mul(ops.tanh(x, name="t"), c, name="y"), name="L")), F64)
    sent = result.nodes["t"].local[0]
    assert sent.method == "coloured" and sent.n_probed == BIG  # every element from two runs
    assert sent.n_kink == 0 and result.verdict == "pass"


def test_a_nodes_unchecked_elements_add_up_over_its_comparisons():
    """The summary line counts a node's elements left out by ``--sample`` over its global check and
    the local check of every input: the counts add, none is lost."""
    g = Graph()
    rng = np.random.default_rng(2)
    a = g.param("a", rng.standard_normal(40))
    b = g.param("b", rng.standard_normal(40))
    settings = CheckSettings.for_dtype("float64", sample=5)
    result = check(run(g, ops.sum(ops.mul(a, b, name="m"), name="L")), settings)
    node = result.nodes["m"]
    left_out = [c.n_not_sampled for _, c in node.comparisons()]
    assert len(left_out) == 3 and all(n > 0 for n in left_out)
    assert node.unchecked(5) == {"not sampled (--sample 5)": sum(left_out)}


def two_wrong_inputs():
    """mul whose backward is 2x wrong for one input and sign-flipped for the other."""

    def backward(u, out, x, y):
        return 2 * u * y, -u * x

    g = Graph()
    rng = np.random.default_rng(4)
    x = g.param("x", rng.uniform(0.5, 1.5, 6))
    y = g.param("y", rng.uniform(0.5, 1.5, 6))
    times = custom_op("times", lambda x, y: x * y, backward, elementwise=True)
    return run(g, ops.sum(times(x, y, name="m"), name="L"))


def test_the_json_of_a_local_check_names_each_inputs_mismatch_in_words():
    trace = two_wrong_inputs()
    result = check(trace, F64)
    _, local = node_check(result.nodes["m"], trace)
    assert local is not None and local["status"] == "mismatch"
    x, y = local["inputs"]["x"], local["inputs"]["y"]
    assert x["diagnosis"] == "a factor 2 extra: analytic is 2 × numeric"
    assert y["diagnosis"].startswith("sign flipped")
    assert local["diagnosis"] == f"x: {x['diagnosis']}; y: {y['diagnosis']}"
    # an input's local numeric side is d⟨u, op⟩/dx for the upstream used, not a gradient of the
    # loss: the JSON gives its counts and words, never its values (numeric_grad is the global's)
    assert "numeric_grad" not in x and x["compared"] == 6 and x["mismatches"] == [[i] for i in range(6)]


def test_a_backward_that_raises_only_at_unit_scale_leaves_its_inputs_unchecked_with_why():
    """Deep in a vanishing chain the local check runs again with an upstream of order one (README);
    a backward that raises there was not judged, and says so: incomplete, never a pass."""

    def backward(u, out, x):
        if np.max(np.abs(u)) > 1e-3:
            raise ValueError("overflow in my backward")
        return u * (1 - out * out)

    g = Graph()
    x = g.param("x", np.random.default_rng(5).uniform(-1, 1, 8))
    tanh = custom_op("mytanh", np.tanh, backward, elementwise=True)
    small = ops.scale(tanh(x, name="t"), 1e-9, name="s")
    result = check(run(g, ops.sum(small, name="L")), F64)
    sent = result.nodes["t"].local[0]
    assert sent.status == "unchecked" and sent.n_unchecked == 8
    (reason,) = sent.reasons
    assert reason.startswith("its backward raised with a random upstream of order one")
    assert "overflow in my backward" in reason and result.verdict == "incomplete"


@pytest.mark.usefixtures("no_colouring")
def test_a_projected_op_with_a_kink_lists_its_kinks_and_passes_the_rest():
    """A leaky relu of the author's (nothing declares it elementwise: it is projected), with
    ``kink=``: the directions that straddle a kink are narrowed down to it, never blamed."""
    values = np.random.default_rng(6).uniform(-1, 1, BIG)
    at_kink = [1234, 98_765]
    values[at_kink] = 0.0
    leaky = custom_op(
        "leaky",
        lambda x: np.where(x > 0, x, 0.1 * x),
        lambda u, out, x: u * np.where(x > 0, 1.0, 0.1),
        kink=lambda x: x,
    )
    g = Graph()
    x = g.param("x", values)
    c = g.input("c", np.linspace(1, 2, BIG))
    result = check(run(g, ops.sum(ops.mul(leaky(x, name="r"), c, name="y"), name="L")), F64)
    sent = result.nodes["r"].local[0]
    assert sent.method == "projection" and result.blame == []
    assert list(np.flatnonzero(sent.codes == KINK)) == at_kink


def test_a_node_that_does_not_reach_the_output_is_unchecked_and_says_why():
    g = Graph()
    x = g.param("x", np.array([0.5, -1.0]))
    ops.tanh(x, name="aside")
    result = check(run(g, ops.sum(ops.square(x, name="q"), name="L")), F64)
    aside = result.nodes["aside"]
    assert (aside.status, aside.note) == ("unchecked", "does not reach the output")


def test_a_wrong_rule_seen_with_a_small_real_upstream_is_not_said_to_be_found_at_unit_scale():
    """The unit-scale look is for a rule whose error the real upstream is too small to show; one
    already blamed with the real upstream is reported as found with it."""
    g = Graph()
    x = g.param("x", np.random.default_rng(7).uniform(-1, 1, 8))
    tanh = ops.tanh.with_backward(lambda u, out, z: u * (1 - out * out) * 1.5)
    small = ops.scale(tanh(x, name="t"), 1e-8, name="s")  # upstream 1e-8: below 100 atol
    result = check(run(g, ops.sum(small, name="L")), F64)
    assert result.blame == ["t"] and result.nodes["t"].local[0].status == "mismatch"
    assert "upstream of order one" not in (result.nodes["t"].note or "")


def test_a_kink_beyond_a_dead_relu_is_not_pulled_back_to_it():
    """relu(relu(x)): where x < 0 the inner relu is dead (its derivative exactly 0) and the outer
    one sits on its kink. Moving x there moves nothing: no kink in dL/dx, only in dL/dr."""
    values = np.random.default_rng(8).uniform(-1, 1, BIG)
    g = Graph()
    x = g.param("x", values)
    c = g.input("c", np.linspace(1, 2, BIG))
    inner = ops.relu(x, name="r")
    result = check(run(g, ops.sum(ops.mul(ops.relu(inner, name="rr"), c, name="y"), name="L")), F64)
    assert result.nodes["x"].grad.method == "pull-back" and result.nodes["x"].grad.n_kink == 0
    assert result.nodes["r"].grad.n_kink == np.count_nonzero(values < 0)
    assert result.verdict == "pass"


def softmax_graph(factor: float):
    """A small softmax of the author's (coupled: each output reads every input) whose backward is
    right up to ``factor``."""

    def forward(x):
        e = np.exp(x - np.max(x))
        return e / np.sum(e)

    def backward(u, out, x):
        return factor * out * (u - np.sum(u * out))

    g = Graph()
    x = g.param("x", np.array([0.3, -1.2, 0.8, 0.1]))
    w = g.input("w", np.array([1.0, -2.0, 0.5, 3.0]))
    soft = custom_op("mysoftmax", forward, backward)
    return run(g, ops.sum(ops.mul(soft(x, name="p"), w, name="y"), name="L"))


def test_a_coupled_op_twice_too_large_is_told_so_not_that_only_its_diagonal_is_right():
    result = check(softmax_graph(2.0), F64)
    assert result.blame == ["p"]
    assert result.nodes["p"].diagnosis == {0: "a factor 2 extra: analytic is 2 × numeric"}


def test_a_broadcast_scalar_whose_gradient_is_averaged_is_told_so():
    """b added to each of 8 elements: its gradient is the sum of theirs. A backward that averages
    is 1/8 of it, one element wrong, and still named: 8 is a size of the tensors there."""

    def backward(u, out, x, b):
        return u, np.mean(u, keepdims=True)

    g = Graph()
    x = g.param("x", np.linspace(-1, 1, 8))
    b = g.param("b", np.array([0.3]))
    shift = custom_op("shift", lambda x, b: x + b, backward)
    result = check(run(g, ops.sum(ops.square(shift(x, b, name="z"), name="q"), name="L")), F64)
    assert result.blame == ["z"]
    words = result.nodes["z"].diagnosis[1]
    assert words == "analytic is 1/8 × numeric (8: a size of the tensors here): averaged where it should sum?"
