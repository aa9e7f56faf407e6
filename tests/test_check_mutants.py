"""What the checker's own machinery must do, each test the killer of a hand-made mutant of it that
once survived the suite (issue 14): pull-backs over every consumer and with their kinks, the
round-off allowed for no larger than round-off, kinks shown in bounded memory, every NaN probe
looked at again, a single element given no constant, refine deciding only on a settled estimate."""

from __future__ import annotations

import numpy as np
import pytest
from check_support import counting_tanh

from tui_backprop import Graph, custom_op, ops
from tui_backprop.check import diagnosis
from tui_backprop.check.gradcheck import KINK, MISMATCH, OK, CheckSettings, check
from tui_backprop.check.verdict import Comparison
from tui_backprop.core.trace import run

F64 = CheckSettings.for_dtype("float64")
BIG = 120_000
"""Too many elements to probe one by one: gradients are pulled back (probing, colouring)."""


def test_a_node_with_two_consumers_pulls_back_through_both():
    g = Graph()
    x = g.param("x", np.random.default_rng(0).uniform(-1, 1, BIG))
    total = ops.add(ops.tanh(x, name="t"), ops.sigmoid(x, name="s"), name="y")
    result = check(run(g, ops.sum(ops.square(total, name="q"), name="L")), F64)
    grad = result.nodes["x"].grad
    assert result.verdict == "pass" and grad.n_probed == BIG  # one consumer alone: half the gradient


def test_a_pull_back_through_relu_keeps_the_kinks_of_its_probes():
    values = np.random.default_rng(1).uniform(-1, 1, BIG)
    zeros = np.arange(7, BIG, 397)[:300]  # more than refine looks at again: the pull-back must say
    values[zeros] = 0.0  # relu's kink: the derivative does not exist there
    g = Graph()
    x = g.param("x", values)
    c = g.input("c", np.linspace(1, 2, BIG))
    result = check(run(g, ops.sum(ops.mul(ops.relu(x, name="r"), c, name="y"), name="L")), F64)
    grad = result.nodes["x"].grad
    assert not result.failed and np.array_equal(np.flatnonzero(grad.codes == KINK), zeros)


def test_a_pull_back_through_an_affine_op_keeps_the_kinks_beyond_it():
    values = np.random.default_rng(3).uniform(-1, 1, BIG)
    zeros = np.arange(11, BIG, 1009)[:100]
    values[zeros] = 0.0
    g = Graph()
    x = g.param("x", values)
    c = g.input("c", np.linspace(1, 2, BIG))
    doubled = ops.scale(x, 2.0, name="d")  # affine: x's estimate is d's pulled back through its adjoint
    result = check(run(g, ops.sum(ops.mul(ops.relu(doubled, name="r"), c, name="y"), name="L")), F64)
    grad = result.nodes["x"].grad
    assert not result.failed and np.array_equal(np.flatnonzero(grad.codes == KINK), zeros)


def test_the_noise_allowed_for_is_the_round_off_of_a_central_difference_and_no_more():
    """8 · machine eps · (|F(x+h)| + |F(x-h)|) / 2h (README): for F = Σx² ≈ 10 at h = 1e-6, about
    1.8e-8; a bug of 1e-7 on a gradient of 1e-3 is 10x above that and atol, and must be blamed."""
    x0 = np.full(10, 1.0)
    x0[3] = 5e-4
    g = Graph()
    x = g.param("x", x0)
    q = ops.square(x, name="q")
    result = check(run(g, ops.sum(q, name="L")), F64)
    assert result.verdict == "pass"
    theory = 8 * np.finfo(np.float64).eps * 2 * 10.0 / (2 * 1e-6)
    assert result.nodes["x"].grad.noise.max() < 2 * theory
    exact = 8 * np.finfo(np.float64).eps * 2 * np.sum(x0**2) / (2 * 1e-6)  # F = 9.00000025 here
    np.testing.assert_allclose(result.nodes["x"].grad.noise, exact, rtol=1e-6)  # and no less
    assert result.nodes["q"].local[0].noise.max() < 2 * theory

    def backward(u, out, x):
        g_ = 2 * x * u
        g_[3] += 1e-7
        return g_

    g = Graph()
    x = g.param("x", x0)
    wrong = ops.square.with_backward(backward)
    result = check(run(g, ops.sum(wrong(x, name="q"), name="L")), F64)
    assert result.blame == ["q"]
    assert [int(i) for i in np.flatnonzero(result.nodes["q"].local[0].codes == MISMATCH)] == [3]


def test_the_lean_compare_of_a_big_tensor_still_shows_its_kinks():
    values = np.random.default_rng(2).uniform(-1, 1, 300_000)
    values[123_456] = 0.0
    g = Graph()
    x = g.param("x", values)
    result = check(
        run(g, ops.sum(ops.relu(x, name="r"), name="L")), CheckSettings.for_dtype("float64", lean=True)
    )
    assert result.nodes["r"].status == "kink" and result.nodes["x"].grad.n_kink == 1


def test_every_nan_probe_of_a_tensor_is_looked_at_again_not_only_the_first_few():
    """log near 0: the ±eps probe leaves the domain, a smaller step does not. 300 such elements,
    more than the 256 refine takes at once in the first pass: none may be left unjudged."""
    x0 = np.full(40, 5e-7)
    g = Graph()
    x = g.param("x", x0)
    result = check(run(g, ops.sum(ops.log(x, name="l"), name="L")), F64)
    assert result.verdict == "pass", result.unchecked()
    assert result.nodes["l"].local[0].n_probed == 40 and result.nodes["x"].grad.n_probed == 40


def test_one_wrong_element_gets_no_constant_of_its_own():
    a = np.array([1.0, 2.0, 3.0, 4.3])
    n = np.array([1.0, 2.0, 3.0, 4.0])
    codes = np.array([OK, OK, OK, MISMATCH], dtype=np.int8)
    one = Comparison(
        a, n, np.abs(a - n), np.abs(a - n) / a, np.zeros(4, bool), np.zeros(4), codes, "mismatch"
    )
    assert diagnosis.diagnose(one, set()) is None  # "analytic is 1.075 × numeric" says nothing
    a2 = np.array([1.0, 2.0, 3.3, 4.4])
    codes2 = np.array([OK, OK, MISMATCH, MISMATCH], dtype=np.int8)
    two = Comparison(
        a2, n, np.abs(a2 - n), np.abs(a2 - n) / a2, np.zeros(4, bool), np.zeros(4), codes2, "mismatch"
    )
    assert diagnosis.diagnose(two, set()) == "analytic is 11/10 × numeric"


def test_refine_calls_an_element_ok_only_when_its_estimate_is_settled():
    """sqrt at 1e-20: every step leaves the asymptotic regime or the domain; no estimate settles,
    so the element is unchecked (exit 3), never ok on an estimate whose error means nothing."""
    g = Graph()
    x = g.param("x", np.array([1e-20, 1.0]))
    root = custom_op("root", np.sqrt, lambda u, out, x: u / (2 * np.sqrt(x)))
    result = check(run(g, ops.sum(root(x, name="r"), name="L")), F64)
    local = result.nodes["r"].local[0]
    assert result.verdict == "incomplete" and local.codes.tolist()[1] == OK
    assert local.codes.tolist()[0] != OK


def test_the_lean_compare_of_a_big_tensor_keeps_the_global_check_limit():
    """check's text keeps a big all-ok tensor without per-element arrays: elements below the
    probe's round-off must still be unchecked there, as in the full comparison."""
    from tui_backprop.check.leancheck import compare_estimate
    from tui_backprop.check.probing import Estimate
    from tui_backprop.check.verdict import BELOW_NOISE

    analytic = np.ones(150_000)
    analytic[::1000] = 1e-6
    estimate = Estimate(analytic.copy(), np.full(150_000, 1e-5), np.zeros(150_000, dtype=bool))
    everything = np.arange(150_000)
    for lean in (False, True):
        settings = CheckSettings.for_dtype("float64", lean=lean)
        c = compare_estimate(analytic, estimate, everything, settings, below_noise=True)
        assert (c.status, c.reasons) == ("unchecked", {BELOW_NOISE: 150}), lean


def test_a_coloured_op_with_a_kink_says_kink_not_mismatch():
    values = np.random.default_rng(5).uniform(-1, 1, 5000)
    values[[3, 4000]] = 0.0
    absolute = custom_op("absolute", np.abs, lambda u, out, x: u * np.sign(x), kink=lambda x: x)
    g = Graph()
    x = g.param("x", values)
    result = check(run(g, ops.sum(ops.square(absolute(x, name="a"), name="q"), name="L")), F64)
    sent = result.nodes["a"].local[0]
    assert sent.method == "coloured" and not result.failed
    assert [int(i) for i in np.flatnonzero(sent.codes == KINK)] == [3, 4000]


def test_a_rule_found_wrong_at_unit_scale_says_how_small_the_real_upstream_was():
    wrong = ops.tanh.with_backward(lambda u, out, x: 1.5 * u * (1 - out**2))
    g = Graph()
    x = g.param("x", np.array([0.3, -0.2]))
    h = wrong(x, name="w")
    for k in range(40):
        h = ops.tanh(ops.scale(h, 0.2, name=f"s{k}"), name=f"t{k}")
    result = check(run(g, ops.sum(h, name="L")), F64)
    assert result.blame == ["w"]
    note = result.nodes["w"].note
    assert note.startswith("found with a random upstream of order one (the real upstream is at most ")
    assert note.endswith(", too small to show the error)")


def test_resolution_is_the_dtype_machine_epsilon_as_a_power_of_ten():
    from tui_backprop.check.resolution import below_resolution, resolution

    assert (resolution("float64"), resolution(np.float32)) == (1e-15, 1e-6)
    assert below_resolution(3e-7, "float32") == "<1e-6" and below_resolution(3e-7, "float64") is None
    assert below_resolution(0.0, "float64") == "<1e-15"


def test_the_lean_compare_of_a_big_matrix_keeps_its_elements_in_step():
    """The lean compare walks a big tensor a slice at a time: analytic, numeric and noise must be
    sliced alike whatever the tensor's shape (here 2-D, 160,000 elements)."""
    g = Graph()
    x = g.param("x", np.random.default_rng(6).uniform(-1, 1, (400, 400)))
    result = check(
        run(g, ops.sum(ops.square(x, name="q"), name="L")), CheckSettings.for_dtype("float64", lean=True)
    )
    grad = result.nodes["x"].grad
    assert result.verdict == "pass" and grad.n_probed == 160_000 and grad.codes.shape == (400, 400)
    assert not any(grad.numeric.strides) and not any(grad.noise.strides)  # all ok: nothing kept per element


def test_the_round_off_of_a_one_sided_slope_is_its_worst_case_and_no_more():
    """refine's one-sided slope through F(0), F(t1), F(t2), each value off by up to unit·|F| (F(0)
    about as large as F(t1)): the noise it allows is the largest error those round-offs can make."""
    from itertools import product

    from tui_backprop.check.refine import _slope, _slope_noise

    unit, m1, m2 = 1e-10, 3.0, 5.0
    for t1, t2 in ((0.5e-3, 1e-3), (-0.5e-3, -1e-3), (1e-3, 2e-3)):
        f1, f2 = 1.7 * t1, 1.7 * t2 + 0.2 * t2 * t2  # differences from F(0)
        t = (np.array([t1]), np.array([t2]))
        exact = _slope(np.array([f1]), np.array([f2]), *t)[0]
        worst = max(
            abs(
                _slope(
                    np.array([f1 + (s1 - s0) * unit * m1]),
                    np.array([f2 + s2 * unit * m2 - s0 * unit * m1]),
                    *t,
                )[0]
                - exact
            )
            for s0, s1, s2 in product((-1, 1), repeat=3)
        )
        noise = _slope_noise(np.array([m1]), np.array([m2]), *t, unit)[0]
        assert abs(worst - noise) <= 1e-6 * noise, (t1, t2, worst, noise)


def test_a_linear_input_is_probed_exactly_through_its_tangent_with_no_step_noise():
    """README: an affine op's probe is pushed through exactly by its tangent rule. Finite
    differences at eps = 1e-6 would carry round-off of about 8·eps64·|F|/2e-6 ≈ 1e-9 here."""
    rng = np.random.default_rng(4)
    g = Graph()
    w = g.param("w", rng.standard_normal((3, 4)))
    x = g.input("x", rng.standard_normal(4))
    result = check(run(g, ops.sum(ops.tanh(ops.matmul(w, x, name="m"), name="t"), name="L")), F64)
    local = result.nodes["m"].local
    assert result.verdict == "pass" and all(c.noise.max() < 1e-13 for c in local.values())


def strict_root():
    """An author's sqrt whose forward raises below 0 (as a probe's step may go)."""

    def forward(x):
        if np.any(x <= 0):
            raise ValueError("sqrt of a value <= 0")
        return np.sqrt(x)

    return custom_op("root", forward, lambda u, out, x: u / (2 * np.sqrt(x)))


def test_a_forward_that_raises_under_the_second_look_leaves_the_element_unchecked_with_why():
    """The first pass probes sqrt at 1.5e-6 ± 1e-6; refine's wider steps go below 0, where the
    author's op raises: that element is unchecked with the error, the others judged, no crash."""

    root = strict_root()
    g = Graph()
    x = g.param("x", np.array([1.5e-6, 1.0, 2.0]))
    result = check(run(g, ops.sum(root(x, name="r"), name="L")), F64)
    (reason,) = result.unchecked()["r"]
    assert reason.startswith("the forward raised while probing") and reason.endswith(
        "ValueError: sqrt of a value <= 0"
    )
    assert result.verdict == "incomplete" and result.nodes["r"].local[0].codes.tolist()[1:] == [OK, OK]


def test_the_second_look_at_unit_scale_probes_with_the_same_upstream():
    """A right rule under a vanishing upstream (1e-9) is checked again at unit scale; there an
    element 1e-7 from abs's kink (no kink= given) is a suspect that refine looks at again, and it
    must do so with the unit-scale upstream, or the right rule is blamed."""
    absolute = custom_op("absolute", np.abs, lambda u, out, x: u * np.sign(x))
    values = np.random.default_rng(7).uniform(-1, 1, 300)  # not small: probed by colours
    values[5] = 1e-7
    g = Graph()
    x = g.param("x", values)
    result = check(run(g, ops.sum(ops.scale(absolute(x, name="a"), 1e-9, name="s"), name="L")), F64)
    assert result.verdict == "pass" and result.blame == []


def test_a_small_ops_jacobian_with_nans_from_the_rule_is_nonfinite_not_ok():
    """The Jacobian of a small op is built from its backward rule with one-hot upstreams; a rule
    that divides by the upstream gives NaN there (0/0) while the real gradient is right."""
    square = custom_op("sq", np.square, lambda u, out, x: (u * u) / u * 2 * x)
    g = Graph()
    x = g.param("x", np.array([0.5, -1.0, 2.0]))
    result = check(run(g, ops.sum(ops.scale(square(x, name="q"), 3.0, name="s"), name="L")), F64)
    assert result.verdict == "pass" and result.nodes["q"].jacobian_checks[0].status == "nonfinite"


def test_a_probe_that_makes_an_op_downstream_raise_names_that_node():
    """sqrt of 5e-7 - 1e-6 raises in the author's op: every element whose probe passes through it
    is unchecked, and the reason names the node (``r``), not the op's name or nothing."""

    root = strict_root()
    g = Graph()
    x = g.param("x", np.array([5e-7, 1.0, 2.0]))
    result = check(run(g, ops.sum(root(ops.scale(x, 1.0, name="h"), name="r"), name="L")), F64)
    reason = "the forward of r raised on a probed value: ValueError: sqrt of a value <= 0"
    assert result.verdict == "incomplete" and result.unchecked()["x"] == {reason: 3}


def test_a_built_in_graph_below_16m_element_evaluations_compares_every_element():
    """README: projections above 1M element evaluations through an author's own op, 16M otherwise.
    A dense softmax of 1,100 (about 1.2M) is built-in only: x is probed element by element."""
    g = Graph()
    x = g.param("x", np.random.default_rng(8).standard_normal(1100))
    c = g.input("c", np.linspace(-1, 1, 1100))
    result = check(run(g, ops.sum(ops.mul(ops.softmax(x, name="p"), c, name="m"), name="L")), F64)
    grad = result.nodes["x"].grad
    assert result.verdict == "pass" and grad.method != "projection"
    assert (grad.n_probed, grad.n_covered) == (1100, 0)


@pytest.mark.parametrize(("n", "every"), [(400_000, 1), (140_000, 1), (400_000, 4)])
def test_the_lean_compare_of_a_big_all_ok_tensor_stays_within_a_few_copies_of_it(n, every):
    """check's text compares a big tensor a slice at a time (CheckSettings.lean), from just above
    two slices on, and a sampled one (``every``: --sample's elements) only at its sampled elements:
    the whole-tensor comparison would hold abs, rel, tolerance and more at once, about 7 tensors'
    worth."""
    import tracemalloc

    from tui_backprop.check.leancheck import compare_estimate
    from tui_backprop.check.probing import Estimate

    analytic = np.linspace(1, 2, n)
    estimate = Estimate(analytic.copy(), np.full(n, 1e-12), np.zeros(n, dtype=bool))
    indices = np.arange(0, n, every)
    tracemalloc.start()
    try:
        c = compare_estimate(analytic, estimate, indices, CheckSettings.for_dtype("float64", lean=True))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert c.status == "ok" and peak < 4 * analytic.nbytes


@pytest.mark.parametrize(("sample", "most"), [(None, 150), (8, 250)])
def test_the_check_runs_an_authors_op_a_bounded_number_of_times(sample, most):
    """Four author's ops of 2,000 elements: each colouring is found once and shared by the local
    check and the pull-back through it, each forward's determinism tested once (124 runs in all
    when written, 180 with --sample 8). Finding a colouring again per node, or re-testing every
    forward per node, is 168 or more; probing every element because 8 would be cheap, 8,000."""
    calls = [0]

    def forward(x):
        calls[0] += 1
        return np.tanh(x)

    my_tanh = custom_op("my_tanh", forward, lambda u, out, x: u * (1 - out**2))
    g = Graph()
    h = g.param("x", np.random.default_rng(9).uniform(-1, 1, 2000))
    for k in range(4):
        h = my_tanh(ops.scale(h, 1.1, name=f"s{k}"), name=f"t{k}")
    trace = run(g, ops.sum(ops.square(h, name="q"), name="L"))
    calls[0] = 0
    result = check(trace, CheckSettings.for_dtype("float64", sample=sample))
    assert not result.failed and calls[0] <= most


def test_probe_batches_are_released_once_every_op_reading_them_has_run():
    """budget.BATCH_BUDGET: the check's memory is bounded by the widest layer, not the depth. 40
    elements probed through 25 ops: one batch is 80 rows of 40; the peak was about 12 batches'
    worth when written (tracemalloc), and keeping every batch of the walk is about 33."""
    import tracemalloc

    g = Graph()
    h = g.param("x", np.random.default_rng(9).uniform(-1, 1, 40))
    for k in range(12):
        h = ops.tanh(ops.scale(h, 1.1, name=f"s{k}"), name=f"t{k}")
    trace = run(g, ops.sum(ops.square(h, name="q"), name="L"))
    tracemalloc.start()
    try:
        result = check(trace, F64)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.verdict == "pass" and peak < 20 * (80 * 40 * 8)


def test_an_extrapolated_estimate_is_uncertain_by_at_least_what_round_off_can_do_to_it():
    """refine's Richardson step: where the estimates at s and s/2 differ by more than round-off, it
    extrapolates, and its uncertainty must cover the largest error the values' round-off (unit·|F|
    each) can make in that extrapolation, over every sign."""
    from itertools import product

    from tui_backprop.check.refine import _stencils

    s, unit, a, b = 1e-3, 1e-12, 0.7, 1.6e-2  # truncation b·s²/4 = 4e-9, twice the round-off at s/2
    t = np.array([[s, -s, s / 2, -s / 2, 2 * s, -2 * s]])  # F at x + t, as differences from F(x)
    m, d = np.ones((1, 6)), a * t + b * t**3
    _, _, estimate, uncertainty, settled, _ = _stencils(d, m, t, unit, F64)
    worst = max(
        abs(_stencils(d + unit * np.array([[*signs, 0, 0]]), m, t, unit, F64)[2][0] - a)
        for signs in product((-1, 1), repeat=4)
    )
    assert settled[0] and abs(estimate[0] - a) < 1e-12 and worst > 2e-9
    assert uncertainty[0] >= worst


def test_every_branch_downstream_counts_towards_the_ops_a_probe_would_run_through():
    """x feeds three branches of 12 ops: 39 ops downstream in all, past budget.FAST_OPS, so x is
    pulled back rather than probed through them (144 runs of the author's op when written;
    counting only the last branch's ops, x would be probed directly: 162)."""
    my_tanh, calls = counting_tanh()
    g = Graph()
    x = g.param("x", np.random.default_rng(9).uniform(-1, 1, 30))
    ends = []
    for b in range(3):
        h = x
        for k in range(6):
            h = my_tanh(ops.scale(h, 1.1, name=f"s{b}{k}"), name=f"t{b}{k}")
        ends.append(h)
    trace = run(g, ops.sum(ops.add(ops.add(ends[0], ends[1], name="a"), ends[2], name="b"), name="L"))
    calls[0] = 0
    assert check(trace, F64).verdict == "pass" and calls[0] <= 150


@pytest.mark.parametrize("side", ["both", "right", "left"])
def test_an_estimate_whose_two_steps_nearly_agree_is_uncertain_by_its_truncation_too(side):
    """refine's Richardson step where the estimates at s and s/2 agree within round-off: the
    estimate kept still carries the truncation of its step, up to ~8x that round-off once written
    (F = a·t + b·t³, whose Richardson extrapolation is exact). Over every b that keeps the two steps
    within round-off and every sign of the values' round-off, the stated uncertainty covers the
    true error of the estimate (sharp: some signs reach it)."""
    from itertools import product

    from tui_backprop.check.refine import _stencils

    s, unit, a = 1e-3, 1e-12, 0.7  # round-off of the central difference at s: 1e-9
    t = np.array([[s, -s, s / 2, -s / 2, 2 * s, -2 * s]])  # F at x + t, as differences from F(x)
    m = np.ones((1, 6))
    gone = {"both": [], "right": [1, 3, 5], "left": [0, 2, 4]}[side]  # one side outside the domain
    covered = 0
    for b in np.linspace(-8e-3, 8e-3, 33):
        for signs in product((-1, 1), repeat=6):
            d = a * t + b * t**3 + unit * np.array([signs])
            d[:, gone] = np.nan
            _, _, estimate, uncertainty, settled, _ = _stencils(d, m, t, unit, F64)
            if settled[0]:
                covered += 1
                error = abs(estimate[0] - a)  # (the bound is sharp: 1e-6 for the test's own rounding)
                assert error <= uncertainty[0] * (1 + 1e-6), (b, signs, error, uncertainty[0])
    assert covered > 0


def test_the_check_keeps_no_numeric_gradient_of_a_leaf_once_it_is_judged():
    """A leaf's numeric gradient (pulled back, 17 bytes an element with its noise and kinks) is
    read by nothing upstream: kept, the 41 leaves of this elementwise graph held 41 of them at once
    (a peak of 117 tensors' worth when written; 10 rounds at 1M elements: 430 MB of the check's
    1.8 GB). Released, the peak is one node's working set (37 tensors), whatever the leaves."""
    import tracemalloc

    rng = np.random.default_rng(0)
    n = 20_000
    g = Graph()
    h = g.input("x", rng.standard_normal(n))
    for r in range(20):
        w = g.param(f"w{r}", rng.uniform(0.5, 1.5, n))
        b = g.param(f"b{r}", rng.uniform(-0.5, 0.5, n))
        h = ops.add(ops.sigmoid(ops.mul(h, w, name=f"m{r}"), name=f"s{r}"), b, name=f"h{r}")
    trace = run(g, ops.sum(ops.square(h, name="sq"), name="L"))
    tracemalloc.start()
    try:
        result = check(trace, CheckSettings.for_dtype("float64", lean=True))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.verdict == "pass" and result.nodes["w0"].grad.method == "pull-back"
    assert peak < 48 * n * 8, peak / (n * 8)
