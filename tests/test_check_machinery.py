"""What the checker's machinery must get right, each test the killer of a mutant of
``tui_backprop/check/`` that once survived the suite (issue 14, benchmarks/mutation_survivors.md):
no false kinks from the two-run estimate, counts that add up over a node's comparisons, the JSON of
a node's local check, a backward that raises only at unit scale, kinks under a projection, a
projection too coarse to verify anything, and the words for a coupled op and for a broadcast
scalar."""

from __future__ import annotations

import numpy as np
import pytest
from check_support import counting_tanh

from tui_backprop import Graph, custom_op, ops
from tui_backprop.check.export import node_check
from tui_backprop.check.gradcheck import KINK, CheckSettings, check
from tui_backprop.core.trace import run

F64 = CheckSettings.for_dtype("float64")
BIG = 120_000
"""Too many elements to probe one by one."""


def leaky_relu():
    """An author's leaky relu that declares its kink at 0 (``kink=``)."""
    return custom_op(
        "leaky",
        lambda x: np.where(x > 0, x, 0.1 * x),
        lambda u, out, x: u * np.where(x > 0, 1.0, 0.1),
        kink=lambda x: x,
    )


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
    leaky = leaky_relu()
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


def test_an_element_at_the_edge_of_its_ops_domain_is_judged_from_the_side_where_it_is_defined():
    """x² + 0·sqrt(0.5 - x) at x = 0.5 - 1e-13: every step to the right, down to refine's smallest,
    leaves the domain (NaN); the left side alone gives the derivative, and the element is compared."""

    def forward(x):
        with np.errstate(invalid="ignore"):
            return x * x + 0 * np.sqrt(0.5 - x)

    edge = custom_op("edge", forward, lambda u, out, x: 2 * x * u, elementwise=True)
    g = Graph()
    x = g.param("x", np.array([0.1, 0.5 - 1e-13, -0.3]))
    result = check(run(g, ops.sum(edge(x, name="e"), name="L")), F64)
    for c in (result.nodes["x"].grad, result.nodes["e"].local[0]):
        assert c.status == "ok" and c.n_probed == 3, c.reasons


def test_a_forward_that_changes_by_itself_is_caught_however_small_its_values():
    rng = np.random.default_rng(9)
    noisy = custom_op(
        "noisy", lambda x: 1e-30 * x * (1 + 1e-3 * rng.standard_normal(x.shape)), lambda u, out, x: 1e-30 * u
    )
    g = Graph()
    x = g.param("x", np.linspace(1, 2, 4))
    result = check(run(g, ops.sum(noisy(x, name="n"), name="L")), F64)
    assert result.nodes["n"].status == "nondeterministic" and result.verdict != "pass"


def stencil(s: float):
    """Offsets of refine's six values (F at +s, -s, +s/2, -s/2, +2s, -2s)."""
    return np.array([[s, -s, s / 2, -s / 2, 2 * s, -2 * s]])


def worst_error(d, m, t, unit, a):
    """The largest error of refine's estimate when each F value is off by up to unit·|F|."""
    from itertools import product

    from tui_backprop.check.refine import _stencils

    return max(
        abs(_stencils(d + unit * m * np.array([signs]), m, t, unit, F64)[2][0] - a)
        for signs in product((-1, 1), repeat=6)
    )


def test_refines_uncertainty_covers_what_round_off_can_do_to_its_estimate():
    """F(x + t) - F(x) = a·t with |F| different at each point: the stated uncertainty covers the
    worst error the values' round-off can make (test_check_mutants: with truncation too)."""
    from tui_backprop.check.refine import _stencils

    s, unit, a = 1e-3, 1e-12, 0.7
    t = stencil(s)
    m, d = np.array([[3.0, 1.0, 2.0, 1.0, 1.0, 1.0]]), a * t
    _, _, _, uncertainty, settled, _ = _stencils(d, m, t, unit, F64)
    assert settled[0] and uncertainty[0] >= worst_error(d, m, t, unit, a) * (1 - 1e-6)


def test_round_off_alone_never_makes_refine_see_a_kink():
    """A smooth F whose values are large (round-off above atol): whatever signs the round-off takes
    at the six points, the slopes' disagreement stays within their noise: no kink, not rough."""
    from itertools import product

    from tui_backprop.check.refine import _stencils

    s, unit, a = 1e-3, 1e-12, 0.7
    t = stencil(s)
    m = np.full((1, 6), 1e4)  # |F| = 1e4: each slope's round-off is about 1e-5, above atol
    d = a * t + 0.01 * t**2
    for signs in product((-1, 1), repeat=6):
        kink, rough, *_ = _stencils(d + unit * m * np.array([signs]), m, t, unit, F64)
        assert not kink[0] and not rough[0], signs


def test_an_authors_elementwise_op_on_a_big_tensor_runs_a_handful_of_times():
    """Declared elementwise, its whole input moves at once: two runs judge its rule, and the same
    estimate is pulled back through it (3 runs with the determinism test, when written); finding
    a colouring for it, as for an op that says nothing, would take 21."""
    my_tanh, calls = counting_tanh()
    g = Graph()
    x = g.param("x", np.random.default_rng(9).uniform(-1, 1, BIG))
    c = g.input("c", np.linspace(1, 2, BIG))
    trace = run(g, ops.sum(ops.mul(my_tanh(x, name="t"), c, name="y"), name="L"))
    calls[0] = 0
    result = check(trace, F64)
    assert result.verdict == "pass" and result.nodes["x"].grad.method == "pull-back" and calls[0] <= 6


def test_a_big_tensors_numeric_gradient_is_kept_whole_when_it_is_to_be_shown():
    """Only check's text drops the per-element arrays of an all-ok comparison (lean); the JSON and
    the app show every element's numeric value, so a check that is not lean keeps them."""
    g = Graph()
    x = g.param("x", np.random.default_rng(10).uniform(-1, 1, 140_000))
    result = check(run(g, ops.sum(ops.tanh(x, name="t"), name="L")), F64)
    grad = result.nodes["x"].grad
    assert grad.status == "ok" and np.allclose(grad.numeric, grad.analytic, rtol=1e-6)


def test_a_one_element_input_is_probed_directly_never_coloured():
    """A scalar b shifts 120,000 elements through the author's op: one probe of b re-runs the op
    whole, too much to call cheap, yet one column needs no colouring: b is probed (``direct``),
    globally and locally, and is never pulled back through a colouring of one column."""

    def forward(x, b):
        return np.tanh(x + b)

    def backward(u, out, x, b):
        g = u * (1 - out**2)
        return g, np.sum(g, keepdims=True)

    shift = custom_op("shift", forward, backward)
    g = Graph()
    x = g.param("x", np.random.default_rng(9).uniform(-1, 1, BIG))
    b = g.param("b", np.array([0.1]))
    c = g.input("c", np.linspace(1, 2, BIG))
    result = check(run(g, ops.sum(ops.mul(shift(x, b, name="t"), c, name="y"), name="L")), F64)
    assert result.verdict == "pass"
    assert result.nodes["b"].grad.method == "direct" and result.nodes["t"].local[1].method == "direct"


@pytest.mark.usefixtures("no_colouring")
def test_a_projection_over_several_batches_near_a_kink_verifies_every_element():
    """200,000 elements: the directions are tested a few per batch. One element is 3e-7 from its
    kink, so the first batch's steps straddle it and are retried smaller; the batches after it
    start from the step that cleared the kink (never a larger one) and the op passes whole."""
    values = np.random.default_rng(6).uniform(-1, 1, 200_000)
    values[5] = 3e-7
    leaky = leaky_relu()
    g = Graph()
    x = g.param("x", values)
    c = g.input("c", np.linspace(1, 2, values.size))
    result = check(run(g, ops.sum(ops.mul(leaky(x, name="r"), c, name="y"), name="L")), F64)
    sent = result.nodes["r"].local[0]
    assert sent.method == "projection" and sent.n_covered == values.size
    assert result.verdict == "pass"


def test_an_element_at_the_edge_of_a_float32_ops_domain_is_judged_with_float32s_steps():
    """The same edge, in an op that computes in float32 (the run is judged as float32): refine's
    smallest step is float32's (1e-6), where the left side still decides; a step below float32's
    resolution would move nothing and leave the element unjudged."""

    def forward(x):
        y = x.astype(np.float32)
        with np.errstate(invalid="ignore"):
            return (y - np.float32(0.5)) + np.float32(0) * np.sqrt(np.float32(0.5) - y)

    edge = custom_op("edge32", forward, lambda u, out, x: u, elementwise=True)
    g = Graph()
    # 0.5 less 4 float32 ulps, beside two elements as close: |F| small, its round-off too
    x = g.param("x", 0.5 - np.array([2.0**-10, 4 * 2.0**-25, 2.0**-12]))
    result = check(run(g, ops.sum(edge(x, name="e"), name="L")), F64)
    assert result.nodes["e"].judged_in.startswith("float32")
    for c in (result.nodes["x"].grad, result.nodes["e"].local[0]):
        assert c.status == "ok" and c.n_probed == 3, c.reasons


def test_a_symmetric_gradient_is_never_said_to_be_transposed():
    """Transposing a symmetric matrix changes nothing, so "transposed" cannot explain what is wrong
    with it: here a diagonal element 3e-5 off (relative) and a near-zero one 1e-6 off (absolute),
    both within the words' spread of the numeric value."""
    from tui_backprop.check.diagnosis import diagnose
    from tui_backprop.check.verdict import compare

    numeric = np.array([[2.0, 1e-9, 0.5], [1e-9, 1.5, 0.3], [0.5, 0.3, 1.0]])
    analytic = numeric.copy()
    analytic[0, 0] *= 1 + 3e-5
    analytic[0, 1] += 1e-6
    zeros = np.zeros_like(numeric)
    c = compare(analytic, numeric, zeros, zeros.astype(bool), F64)
    assert c.n_mismatch == 2
    assert "transposed" not in (diagnose(c, set(), spread=5 * F64.rtol) or "")
