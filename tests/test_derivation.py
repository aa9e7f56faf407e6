"""The chain rule written out: every built-in op's local derivative, with numbers, and the numeric probe.

Expected numbers are computed here from closed forms written in this file, not by the engine.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from tui_backprop import Graph
from tui_backprop.app.inspector import derivation as dv
from tui_backprop.core import ops, scenarios
from tui_backprop.core.trace import run
from tui_backprop.teach.derivation import central_difference, links

U = 0.5
"""The upstream gradient every op below receives: loss = U · Σ op(...)."""


def chain(build, *values):
    """Trace ``loss = U · sum(op(inputs))``; the op node is named y, its inputs a and b."""
    g = Graph()
    leaves = [g.param(name, v) for name, v in zip("abc", values, strict=False)]
    y = build(*leaves)
    loss = ops.scale(ops.sum(y, name="total"), U, name="loss")
    trace = run(g, loss)
    return trace, links(trace, y.name)


sig = 1 / (1 + math.exp(-0.8))
SCALAR_CASES = {
    # op: (build, inputs, per input: (text of the local line, expected local derivative))
    "add": (lambda a, b: ops.add(a, b, name="y"), (1.5, -2.0), [("∂y/∂a = 1", 1.0), ("∂y/∂b = 1", 1.0)]),
    "sub": (lambda a, b: ops.sub(a, b, name="y"), (1.5, -2.0), [("∂y/∂a = 1", 1.0), ("∂y/∂b = -1", -1.0)]),
    "mul": (
        lambda a, b: ops.mul(a, b, name="y"),
        (1.5, -2.0),
        [("∂y/∂a = b = -2", -2.0), ("∂y/∂b = a = 1.5", 1.5)],
    ),
    "div": (
        lambda a, b: ops.div(a, b, name="y"),
        (1.5, -2.0),
        [("∂y/∂a = 1/b = 1/(-2) = -0.5", -0.5), ("∂y/∂b = -a/b² = -1.5/(-2)² = -0.375", -1.5 / 4)],
    ),
    "maximum": (
        lambda a, b: ops.maximum(a, b, name="y"),
        (1.5, -2.0),
        [("∂y/∂a = [a ≥ b] = [1.5 ≥ (-2)] = 1", 1.0), ("∂y/∂b = [a < b] = [1.5 < (-2)] = 0", 0.0)],
    ),
    "neg": (lambda a: ops.neg(a, name="y"), (1.5,), [("∂y/∂a = -1", -1.0)]),
    "exp": (lambda a: ops.exp(a, name="y"), (-2.0,), [("∂y/∂a = exp(a) = exp(-2) = 0.1353", math.exp(-2))]),
    "log": (lambda a: ops.log(a, name="y"), (1.5,), [("∂y/∂a = 1/a = 1/1.5 = 0.6667", 1 / 1.5)]),
    "reciprocal": (
        lambda a: ops.reciprocal(a, name="y"),
        (1.135,),
        [("∂y/∂a = -1/a² = -1/1.135² = -0.7763", -1 / 1.135**2)],
    ),
    "square": (lambda a: ops.square(a, name="y"), (-3.0,), [("∂y/∂a = 2·a = 2·(-3) = -6", -6.0)]),
    "sigmoid": (
        lambda a: ops.sigmoid(a, name="y"),
        (0.8,),
        [(f"∂y/∂a = σ(a)·(1-σ(a)) = 0.69·(1-0.69) = {sig * (1 - sig):.4g}", sig * (1 - sig))],
    ),
    "tanh": (
        lambda a: ops.tanh(a, name="y"),
        (-0.5,),
        [(f"∂y/∂a = 1-tanh²(a) = 1-(-0.4621)² = {1 - math.tanh(-0.5) ** 2:.4g}", 1 - math.tanh(-0.5) ** 2)],
    ),
    "relu": (lambda a: ops.relu(a, name="y"), (-0.5,), [("∂y/∂a = [a > 0] = [(-0.5) > 0] = 0", 0.0)]),
    "abs": (lambda a: ops.abs(a, name="y"), (-0.5,), [("∂y/∂a = sign(a) = sign(-0.5) = -1", -1.0)]),
    "scale": (lambda a: ops.scale(a, -3.0, name="y"), (0.5,), [("∂y/∂a = -3", -3.0)]),
    "add_const": (lambda a: ops.add_const(a, 4.0, name="y"), (0.5,), [("∂y/∂a = 1", 1.0)]),
    "power": (lambda a: ops.power(a, 3.0, name="y"), (2.0,), [("∂y/∂a = 3·a^2 = 3·2^2 = 12", 12.0)]),
}


@pytest.mark.parametrize("op", sorted(SCALAR_CASES))
def test_scalar_ops_write_their_local_derivative_with_numbers_and_the_product(op):
    build, values, expected = SCALAR_CASES[op]
    _, found = chain(build, *values)
    assert len(found) == len(expected)
    for link, (text, local) in zip(found, expected, strict=True):
        assert dv.local_line(link).plain == text
        assert link.textbook == pytest.approx(local)
        assert link.upstream == pytest.approx(U)
        assert link.sent == pytest.approx(U * local)
        product = dv.product_line(link, "y").plain
        assert product.endswith(f"= {dv.tf.short(U)} · {dv.factor(local)} = {dv.tf.num(U * local)}")


TENSOR_CASES = {
    # op: (build, inputs, per input: expected local derivative at the focus, or None; matrix text)
    "matmul": (
        lambda a, b: ops.matmul(a, b, name="y"),
        ([[1.0, 2.0], [3.0, 4.0]], [[0.5], [-1.0]]),
        ["da = dy · bᵀ   (2×1)·(1×2) → 2×2", "db = aᵀ · dy   (2×2)·(2×1) → 2×1"],
    ),
    "linear": (
        lambda a, b, c: ops.linear(a, b, c, name="y"),
        ([[1.0, 2.0], [3.0, 4.0]], [[0.5], [-1.0]], [[0.1], [0.2]]),
        ["da = dy · bᵀ   (2×1)·(1×2) → 2×2", "db = aᵀ · dy   (2×2)·(2×1) → 2×1", "dc = dy"],
    ),
    "transpose": (lambda a: ops.transpose(a, name="y"), ([[1.0, 2.0, 3.0]],), ["da = (dy)ᵀ   (3×1) → 1×3"]),
    "softmax": (lambda a: ops.softmax(a, name="y"), ([1.0, 2.0],), ["da = y ⊙ (dy - ⟨dy, y⟩)"]),
    "log_softmax": (lambda a: ops.log_softmax(a, name="y"), ([1.0, 2.0],), ["da = dy - softmax(a) · Σ dy"]),
}


@pytest.mark.parametrize("op", sorted(TENSOR_CASES))
def test_tensor_ops_write_the_gradient_sent_in_matrix_form_with_shapes(op):
    build, values, expected = TENSOR_CASES[op]
    trace, found = chain(build, *values)
    assert [dv.matrix_line(link).plain for link in found] == expected
    for link in found:
        assert np.array_equal(link.sent_array, trace.contributions["y"][link.position])


def test_reductions_and_pick_write_the_derivative_of_one_element():
    x = [[1.0, -2.0], [3.0, 0.5]]
    _, (total,) = chain(lambda a: ops.sum(a, name="y"), x)
    _, (mean,) = chain(lambda a: ops.mean(a, name="y"), x)
    _, (pick,) = chain(lambda a: ops.pick(a, (1, 0), name="y"), x)
    assert (total.textbook, total.upstream, total.sent) == (1.0, U, U)
    assert mean.textbook == pytest.approx(1 / 4) and mean.sent == pytest.approx(U / 4)
    assert dv.local_line(mean).plain == "∂y/∂a[0,0] = 1/N = 0.25"
    assert pick.focus == (1, 0) and pick.textbook == 1.0 and pick.sent == U
    assert dv.local_line(pick).plain == "∂y/∂a[1,0] = [index = 1, 0] = 1"


def test_binary_cross_entropy_writes_both_derivatives():
    a, y = 0.7723, 1.0
    _, (da, dy) = chain(lambda p, t: ops.binary_cross_entropy(p, t, name="y"), a, y)
    assert da.textbook == pytest.approx((a - y) / (a * (1 - a)))
    assert dy.textbook == pytest.approx(math.log(1 - a) - math.log(a))
    assert dv.local_line(da).plain.startswith("∂y/∂a = (a-b)/(a·(1-a)) = (0.7723-1)/(0.7723·(1-0.7723)) = ")


def test_a_planted_bug_shows_the_textbook_product_beside_what_the_backward_rule_sends():
    trace = scenarios.trace_scenario(scenarios.load("sigmoid-chain"), bug="reciprocal-sign")
    (link,) = links(trace, "f")
    e = 1 + math.exp(-2.0)
    assert dv.local_line(link).plain == f"∂f/∂e = -1/e² = -1/{e:.4g}² = {-1 / e**2:.4f}"
    local = -1 / e**2
    assert dv.product_line(link, "f").plain == (
        f"dL/de = dL/df · ∂f/∂e = 1 · ({local:.4f}) = {local:.4f};  the backward rule sends {-local:.4f}!"
    )


def test_custom_op_derivative_template_is_written_without_a_textbook_number():
    from tui_backprop import custom_op

    double = custom_op("double", lambda x: 2 * x, lambda u, out, x: 2 * u, "{out} = 2·{0}", derivative="2")
    _, (link,) = chain(lambda a: double(a, name="y"), 1.5)
    assert dv.local_line(link).plain == "∂y/∂a = 2"
    assert link.textbook is None and dv.product_line(link, "y") is None


def test_central_difference_is_the_lecture_arithmetic():
    trace = scenarios.trace_scenario(scenarios.load("sigmoid-chain"))
    probe = central_difference(trace, "x", (), 1e-6)

    def f(x):
        return 1 / (1 + math.exp(-(3.0 * x - 4.0)))

    assert probe.f_plus == pytest.approx(f(2.0 + probe.h), rel=1e-15)
    assert probe.f_minus == pytest.approx(f(2.0 - probe.h), rel=1e-15)
    assert probe.numeric == pytest.approx(0.3150, abs=5e-5)
    assert probe.analytic == pytest.approx(0.3149807562105195)
    lines = [line.plain for line in dv.probe_lines(probe)]
    assert lines[0] == "numeric dL/dx: F = f, x = 2, h = 1e-6"
    assert lines[2].startswith("  (F₊ - F₋)/2h = 0.315   analytic 0.315")


def test_central_difference_of_one_tensor_element():
    trace = scenarios.trace_scenario(scenarios.load("two-layer-net"))
    probe = central_difference(trace, "W2", (0, 1), 1e-6)
    assert probe.numeric == pytest.approx(float(trace.grads["W2"][0, 1]), rel=1e-7)
    assert trace.values["W2"][0, 1] == probe.x  # the trace itself is untouched
