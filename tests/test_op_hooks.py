"""Every op's batched forward, tangent and kink hooks against a loop over its plain forward.

The checker evaluates ops on batches of probes (a leading axis) and pushes probes through affine
ops by their tangent rule; a hook that disagrees with the plain forward makes the check blame
correct code. Each op is tried on every shape class it accepts: scalar, vector, matrix, 3-d and
broadcasting operands.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from tui_backprop import Graph, ops

BATCH = 3


def op_case(builder, *shapes, positive: bool = False):
    rng = np.random.default_rng(sum(len(s) for s in shapes) + 7)
    values = [rng.uniform(0.2, 0.8, s) if positive else rng.standard_normal(s) for s in shapes]
    g = Graph()
    node = builder(*(g.param(f"x{i}", v) for i, v in enumerate(values)))
    return node.op, [g[f"x{i}"].value for i in range(len(values))]


SCALAR, VECTOR, MATRIX, CUBE = (), (3,), (2, 3), (2, 3, 4)
UNARY_SHAPES = [SCALAR, VECTOR, MATRIX, CUBE]
BINARY_SHAPES = [
    (SCALAR, SCALAR),
    (VECTOR, VECTOR),
    (MATRIX, MATRIX),
    (CUBE, CUBE),
    (MATRIX, VECTOR),
    ((4, 1), (1, 3)),
    (SCALAR, CUBE),
    ((3, 1), CUBE),
]
UNARY = {
    "neg": ops.neg,
    "exp": ops.exp,
    "log": ops.log,
    "abs": ops.abs,
    "square": ops.square,
    "reciprocal": ops.reciprocal,
    "sigmoid": ops.sigmoid,
    "tanh": ops.tanh,
    "relu": ops.relu,
    "transpose": ops.transpose,
    "scale": lambda x: ops.scale(x, -2.5),
    "add_const": lambda x: ops.add_const(x, 1.5),
    "power": lambda x: ops.power(x, 3.0),
    "sum": ops.sum,
    "mean": ops.mean,
    "sum-axis0": lambda x: ops.sum(x, axis=0),
    "mean-axis-1": lambda x: ops.mean(x, axis=-1),
    "softmax": ops.softmax,
    "softmax-axis-1": lambda x: ops.softmax(x, axis=-1),
    "log_softmax": ops.log_softmax,
    "log_softmax-axis0": lambda x: ops.log_softmax(x, axis=0),
}
BINARY = {"add": ops.add, "sub": ops.sub, "mul": ops.mul, "div": ops.div, "maximum": ops.maximum}

CASES = [
    pytest.param(UNARY[name], [shape], name in ("log",), id=f"{name}-{len(shape)}d")
    for name in UNARY
    for shape in UNARY_SHAPES
    if not (("axis" in name) and len(shape) == 0)
]
CASES += [
    pytest.param(BINARY[name], list(pair), False, id=f"{name}-{pair}")
    for name in BINARY
    for pair in BINARY_SHAPES
]
CASES += [
    pytest.param(ops.matmul, [a, b], False, id=f"matmul-{a}-{b}")
    for a, b in [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4))]
]
CASES += [
    pytest.param(ops.linear, [w, x, b], False, id=f"linear-{w}-{x}-{b}")
    for w, x, b in [((2, 3), (3,), (2,)), ((2, 3), (3, 4), (2, 1)), ((2, 3), (3, 4), ())]
]
CASES += [
    pytest.param(lambda x: ops.pick(x, 1), [(3,)], False, id="pick-1d"),
    pytest.param(lambda x: ops.pick(x, (1, 2)), [(2, 3)], False, id="pick-2d"),
    pytest.param(lambda x: ops.pick(x, (0, 2, 1)), [(2, 3, 4)], False, id="pick-3d"),
    pytest.param(ops.binary_cross_entropy, [(3,), (3,)], True, id="bce-1d"),
    pytest.param(ops.binary_cross_entropy, [(2, 3), (3,)], True, id="bce-broadcast"),
]


def plain_loop(fn, xs, flags, batch):
    return np.stack(
        [np.asarray(fn(*(x[i] if f else x for x, f in zip(xs, flags, strict=True)))) for i in range(batch)]
    )


@pytest.mark.parametrize(("builder", "shapes", "positive"), CASES)
def test_batched_forward_tangent_and_kink_agree_with_the_plain_forward(builder, shapes, positive):
    op, xs = op_case(builder, *shapes, positive=positive)
    rng = np.random.default_rng(1)
    batches = [x + 0.01 * rng.standard_normal((BATCH,) + x.shape) for x in xs]
    for flags in itertools.product([False, True], repeat=len(xs)):
        if not any(flags):
            continue
        mixed = [b if f else x for x, b, f in zip(xs, batches, flags, strict=True)]
        expected = plain_loop(op.forward, mixed, flags, BATCH)
        got = np.broadcast_to(op.run_batched(mixed, flags), expected.shape)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12, err_msg=f"forward {flags}")
        if op.kink is not None:
            kinks = np.broadcast_to(op.kink_batched(mixed, flags), expected.shape)
            np.testing.assert_array_equal(kinks, plain_loop(op.kink, mixed, flags, BATCH))
    out = np.asarray(op.forward(*xs))
    for position in op.linear_in:
        t = 0.01 * rng.standard_normal((BATCH,) + xs[position].shape)
        moved = [list(xs) for _ in range(BATCH)]
        for i in range(BATCH):
            moved[i][position] = xs[position] + t[i]
        expected = np.stack([np.asarray(op.forward(*m)) - out for m in moved])
        got = np.broadcast_to(op.tangent_batched(position, t, xs), expected.shape)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12, err_msg=f"tangent {position}")
        flat = np.arange(xs[position].size)
        basis = np.eye(xs[position].size).reshape((flat.size,) + xs[position].shape)
        expected = np.stack(
            [np.asarray(op.forward(*xs[:position], xs[position] + e, *xs[position + 1 :])) for e in basis]
        )
        got = np.broadcast_to(op.tangent_of_basis(position, flat, xs), expected.shape)
        np.testing.assert_allclose(got, expected - out, rtol=1e-9, atol=1e-12, err_msg=f"basis {position}")
