"""Every op's backward rule against a numeric VJP made here, element by element, in float64.

The reference is a plain loop of central differences written in this file, not the engine's
batched checker, so the two cannot share a mistake.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from tui_backprop import Graph, ops
from tui_backprop.core.trace import run

EPS = 1e-6


def numeric_vjp(f, inputs: list[np.ndarray], upstream: np.ndarray) -> list[np.ndarray]:
    """d<upstream, f(inputs)>/d input, one element at a time."""
    grads = []
    for i, x in enumerate(inputs):
        g = np.zeros_like(x)
        for k in np.ndindex(x.shape):
            plus = [v.copy() for v in inputs]
            minus = [v.copy() for v in inputs]
            plus[i][k] += EPS
            minus[i][k] -= EPS
            g[k] = (np.sum(upstream * f(*plus)) - np.sum(upstream * f(*minus))) / (2 * EPS)
        grads.append(g)
    return grads


def analytic_vjp(build_node, inputs: list[np.ndarray], upstream: np.ndarray) -> list[np.ndarray]:
    """The engine's contributions for one op node, fed ``upstream`` by a weighted-sum loss."""
    g = Graph()
    leaves = [g.param(f"x{i}", v) for i, v in enumerate(inputs)]
    node = build_node(*leaves)
    weights = g.input("u", upstream)
    loss = ops.sum(ops.mul(node, weights, name="weighted"), name="loss")
    trace = run(g, loss)
    return [trace.contributions[node.name][i] for i in range(len(inputs))]


def floats(low=-3.0, high=3.0):
    return st.floats(low, high, allow_nan=False, allow_infinity=False, width=64)


shapes = st.sampled_from([(), (3,), (2, 3), (4, 1)])

UNARY = {
    "neg": (lambda n: ops.neg(n), np.negative, floats()),
    "exp": (lambda n: ops.exp(n), np.exp, floats()),
    "log": (lambda n: ops.log(n), np.log, floats(0.2, 4.0)),
    "reciprocal": (lambda n: ops.reciprocal(n), np.reciprocal, floats(0.3, 3.0)),
    "square": (lambda n: ops.square(n), np.square, floats()),
    "sigmoid": (lambda n: ops.sigmoid(n), lambda x: 1 / (1 + np.exp(-x)), floats()),
    "tanh": (lambda n: ops.tanh(n), np.tanh, floats()),
    "relu": (lambda n: ops.relu(n), lambda x: np.maximum(x, 0), floats()),
    "abs": (lambda n: ops.abs(n), np.abs, floats()),
    "scale": (lambda n: ops.scale(n, -2.5), lambda x: -2.5 * x, floats()),
    "add_const": (lambda n: ops.add_const(n, 4.0), lambda x: 4.0 + x, floats()),
    "power": (lambda n: ops.power(n, 3.0), lambda x: x**3, floats()),
    "sum": (lambda n: ops.sum(n), np.sum, floats()),
    "mean": (lambda n: ops.mean(n), np.mean, floats()),
    "softmax": (lambda n: ops.softmax(n), lambda x: np.exp(x) / np.exp(x).sum(), floats()),
    "log_softmax": (
        lambda n: ops.log_softmax(n),
        lambda x: x - np.log(np.exp(x).sum()),
        floats(),
    ),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_unary_backward_matches_numeric_vjp(name, data):
    build_node, reference, elements = UNARY[name]
    shape = data.draw(shapes)
    x = data.draw(arrays(np.float64, shape, elements=elements))
    if name in ("relu", "abs"):
        x = np.where(np.abs(x) < 1e-3, 0.5, x)  # away from the kink at 0
    out_shape = np.shape(reference(x))
    upstream = data.draw(arrays(np.float64, out_shape, elements=floats()))
    (analytic,) = analytic_vjp(build_node, [x], upstream)
    (numeric,) = numeric_vjp(reference, [x], upstream)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6)


broadcast_pairs = st.sampled_from(
    [((3,), (3,)), ((2, 3), (3,)), ((2, 3), (2, 1)), ((), (2, 2)), ((4, 1), (1, 3))]
)

BINARY = {
    "add": (ops.add, np.add, floats(), floats()),
    "sub": (ops.sub, np.subtract, floats(), floats()),
    "mul": (ops.mul, np.multiply, floats(), floats()),
    "div": (ops.div, np.divide, floats(), floats(0.5, 3.0)),
    "maximum": (ops.maximum, np.maximum, floats(), floats()),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_broadcasting_binary_backward_matches_numeric_vjp(name, data):
    op, reference, left, right = BINARY[name]
    shape_a, shape_b = data.draw(broadcast_pairs)
    a = data.draw(arrays(np.float64, shape_a, elements=left))
    b = data.draw(arrays(np.float64, shape_b, elements=right))
    if name == "maximum":
        assume(np.all(np.abs(np.subtract(a, b)) > 1e-3))  # away from the kink where a = b
    out_shape = np.broadcast_shapes(a.shape, b.shape)
    upstream = data.draw(arrays(np.float64, out_shape, elements=floats()))
    analytic = analytic_vjp(lambda x, y: op(x, y), [a, b], upstream)
    numeric = numeric_vjp(reference, [a, b], upstream)
    for got, want in zip(analytic, numeric, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


matmul_shapes = st.sampled_from(
    [((2, 3), (3, 4)), ((3,), (3, 2)), ((2, 3), (3,)), ((3,), (3,)), ((1, 1), (1, 5))]
)


@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_matmul_and_linear_backward_match_numeric_vjp(data):
    shape_a, shape_b = data.draw(matmul_shapes)
    a = data.draw(arrays(np.float64, shape_a, elements=floats()))
    b = data.draw(arrays(np.float64, shape_b, elements=floats()))
    out_shape = np.matmul(a, b).shape
    upstream = data.draw(arrays(np.float64, out_shape, elements=floats()))
    analytic = analytic_vjp(lambda x, y: ops.matmul(x, y), [a, b], upstream)
    numeric = numeric_vjp(np.matmul, [a, b], upstream)
    for got, want in zip(analytic, numeric, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)

    bias = data.draw(arrays(np.float64, out_shape, elements=floats()))
    analytic = analytic_vjp(lambda w, x, c: ops.linear(w, x, c), [a, b, bias], upstream)
    numeric = numeric_vjp(lambda w, x, c: w @ x + c, [a, b, bias], upstream)
    for got, want in zip(analytic, numeric, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_shape_ops_backward_match_numeric_vjp(data):
    x = data.draw(arrays(np.float64, (3, 4), elements=floats()))
    cases = [
        (lambda n: ops.transpose(n), lambda v: v.T),
        (lambda n: ops.sum(n, axis=0), lambda v: v.sum(axis=0)),
        (lambda n: ops.mean(n, axis=1), lambda v: v.mean(axis=1)),
        (lambda n: ops.pick(n, (2, 1)), lambda v: v[2, 1]),
        (lambda n: ops.softmax(n, axis=-1), lambda v: np.exp(v) / np.exp(v).sum(axis=-1, keepdims=True)),
        (
            lambda n: ops.log_softmax(n, axis=0),
            lambda v: v - np.log(np.exp(v).sum(axis=0, keepdims=True)),
        ),
    ]
    for build_node, reference in cases:
        upstream = data.draw(arrays(np.float64, np.shape(reference(x)), elements=floats()))
        (analytic,) = analytic_vjp(build_node, [x], upstream)
        (numeric,) = numeric_vjp(reference, [x], upstream)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-6)


@settings(max_examples=25, deadline=None)
@given(
    a=arrays(np.float64, (3,), elements=floats(0.05, 0.95)),
    y=arrays(np.float64, (3,), elements=floats(0.0, 1.0)),
)
def test_binary_cross_entropy_backward_matches_numeric_vjp(a, y):
    upstream = np.array(1.7)
    reference = lambda p, t: -np.sum(t * np.log(p) + (1 - t) * np.log(1 - p))  # noqa: E731
    analytic = analytic_vjp(lambda p, t: ops.binary_cross_entropy(p, t), [a, y], upstream)
    numeric = numeric_vjp(reference, [a, y], upstream)
    for got, want in zip(analytic, numeric, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)


def test_every_op_renders_its_formula_with_names():
    g = Graph()
    x, w0 = g.input("x", 2.0), g.param("w0", 3.0)
    a = ops.mul(x, w0, name="a")
    b = ops.add_const(a, 1.0, name="e")
    c = ops.scale(b, -1.0, name="c")
    assert a.formula() == "a = x · w0"
    assert b.formula() == "e = 1 + a"
    assert c.formula() == "c = -1 · e"
