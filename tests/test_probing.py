"""The check's fast ways to numeric derivatives (probing.py) against the plain ones they replace."""

from __future__ import annotations

import numpy as np
import pytest

from tui_backprop import Graph, ops
from tui_backprop.gradcheck import MISMATCH, CheckSettings, check
from tui_backprop.trace import run

F64 = CheckSettings.for_dtype("float64")
RNG = np.random.default_rng(7)


def affine_cases():
    """(op, input arrays) for every built-in op with an adjoint, broadcasting included."""
    r = RNG.standard_normal
    yield ops.add, [r((3, 4)), r((3, 1))]
    yield ops.sub, [r((4,)), r((3, 4))]
    yield ops.mul, [r((3, 4)), r((4,))]
    yield ops.div, [r((3, 4)), r((3, 4)) + 3.0]
    yield ops.neg, [r((2, 3))]
    yield ops.matmul, [r((3, 4)), r((4, 5))]
    yield ops.matmul, [r((4,)), r((4, 2))]
    yield ops.matmul, [r((3, 4)), r((4,))]
    yield ops.transpose, [r((3, 4))]
    yield ops.linear, [r((3, 4)), r((4, 5)), r((3, 1))]
    yield ops.linear, [r((3, 4)), r((4,)), r((3,))]


def graph_op(build):
    """The op a public builder such as ``ops.sum(x, axis=0)`` bakes, with its inputs."""
    g = Graph()
    return build(g.param("x", RNG.standard_normal((3, 4)))).op


@pytest.mark.parametrize(("op", "xs"), list(affine_cases()))
def test_adjoint_is_the_transpose_of_the_tangent(op, xs):
    """⟨T v, m⟩ = ⟨v, Tᵀ m⟩ for random v, m: the adjoint pulls back exactly what the tangent pushes."""
    out = np.asarray(op.forward(*xs))
    for position in op.linear_in:
        v = RNG.standard_normal(xs[position].shape)
        m = RNG.standard_normal(out.shape)
        pushed = op.tangent_batched(position, v[None], xs)[0]
        pulled = op.adjoint(position, m, *xs)
        assert pulled.shape == xs[position].shape
        np.testing.assert_allclose(np.sum(pushed * m), np.sum(v * pulled), rtol=1e-12)


@pytest.mark.parametrize(
    "build",
    [
        lambda x: ops.sum(x, axis=0),
        lambda x: ops.mean(x),
        lambda x: ops.pick(x, (1, 2)),
        lambda x: ops.scale(x, -2.5),
        lambda x: ops.add_const(x, 4.0),
    ],
)
def test_adjoint_of_parameterised_ops(build):
    op = graph_op(build)
    x = RNG.standard_normal((3, 4))
    out = np.asarray(op.forward(x))
    v, m = RNG.standard_normal(x.shape), RNG.standard_normal(out.shape)
    pushed = op.tangent_batched(0, v[None], [x])[0]
    np.testing.assert_allclose(np.sum(pushed * m), np.sum(v * op.adjoint(0, m, x)), rtol=1e-12)


def wide_net(g: Graph, bug=None):
    """Big enough that every tensor is pulled back or grouped rather than probed one by one."""
    x = g.input("x", RNG.standard_normal((40, 6)))
    w = g.param("W", RNG.standard_normal((30, 40)) / 6)
    b = g.param("b", RNG.standard_normal((30, 1)))
    z = ops.linear(w, x, b, name="z")
    act = (bug or ops.tanh)(z, name="a")
    return ops.sum(ops.square(ops.mul(act, g.input("s", RNG.standard_normal((30, 6))), name="m")), name="L")


def test_pulled_back_gradients_equal_direct_probes_on_a_wide_net():
    g = Graph()
    trace = run(g, wide_net(g))
    fast = check(trace, F64)
    from tui_backprop import gradcheck

    old = gradcheck.FAST_WORK, gradcheck.FAST_OPS
    gradcheck.FAST_WORK, gradcheck.FAST_OPS = 1 << 62, 1 << 62  # every node probed directly
    try:
        direct = check(trace, F64)
    finally:
        gradcheck.FAST_WORK, gradcheck.FAST_OPS = old
    assert not fast.failed and not direct.failed
    for name in ["x", "W", "b", "z", "a", "m"]:
        f, d = fast.nodes[name].grad, direct.nodes[name].grad
        # Equal up to the round-off either allows for (the direct probe's is the larger: it sees L).
        assert np.all(np.abs(f.numeric - d.numeric) <= f.noise + d.noise + 1e-6 * np.abs(d.numeric)), name


def test_a_wrong_element_of_an_elementwise_backward_is_blamed_and_listed():
    def tanh_backward(u, out, x):
        g = u * (1 - out * out)
        g[7, 2] *= 1.5  # one element of 180 wrong
        return g

    g = Graph()
    trace = run(g, wide_net(g, ops.tanh.with_backward(tanh_backward)))
    result = check(trace, F64)
    assert result.blame == ["a"]
    local = result.nodes["a"].local[0]
    assert [tuple(ix) for ix in np.argwhere(local.codes == MISMATCH)] == [(7, 2)]
    z = result.nodes["z"].grad
    assert [tuple(ix) for ix in np.argwhere(z.codes == MISMATCH)] == [(7, 2)]
