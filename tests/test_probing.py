"""The check's fast ways to numeric derivatives (probing.py) against the plain ones they replace."""

from __future__ import annotations

import numpy as np
import pytest

from tui_backprop import Graph, ops
from tui_backprop.check.gradcheck import MISMATCH, CheckSettings, check
from tui_backprop.check.projection import directions_for
from tui_backprop.core.trace import run

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
    from tui_backprop.check import budget

    old = budget.FAST_WORK, budget.FAST_OPS
    budget.FAST_WORK, budget.FAST_OPS = 1 << 62, 1 << 62  # every node probed directly
    try:
        direct = check(trace, F64)
    finally:
        budget.FAST_WORK, budget.FAST_OPS = old
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


# ---------------------------------------------------------------- projections
SIZE = 3000


def softsign_backward(wrong: tuple[int, ...] = ()):
    def backward(u, out, x):
        g = u / (1 + np.abs(x)) ** 2
        g[list(wrong)] *= 1.3
        return g

    return backward


def softsign_net(g: Graph, wrong: tuple[int, ...] = ()):
    """A custom op (neither affine nor declared diagonal) on a tensor too big to probe one by one."""
    from tui_backprop import custom_op

    softsign = custom_op("softsign", lambda x: x / (1 + np.abs(x)), softsign_backward(wrong))
    x = g.param("x", np.linspace(-3, 3, SIZE))
    s = softsign(ops.scale(x, 1.5, name="xs"), name="s")
    return ops.sum(ops.square(s, name="q"), name="L")


@pytest.mark.usefixtures("no_colouring")
def test_projection_verifies_a_large_custom_op_and_says_so():
    g = Graph()
    result = check(run(g, softsign_net(g)), F64)
    local = result.nodes["s"].local[0]
    assert (local.method, local.directions, local.status) == ("projection", directions_for(SIZE), "ok")
    assert not result.failed
    assert result.nodes["q"].local[0].method == "coloured"  # square: elementwise, two runs


@pytest.mark.usefixtures("no_colouring")
def test_projection_blames_a_wrong_element_of_a_big_tensor_and_lists_exactly_it():
    g = Graph()
    result = check(run(g, softsign_net(g, wrong=(17, 2500))), F64)
    assert result.blame == ["s"]
    local = result.nodes["s"].local[0]
    assert local.method == "projection"
    assert [int(i) for i in np.flatnonzero(local.codes == MISMATCH)] == [17, 2500]


def test_exhaustive_checks_every_element_and_finds_the_same_elements():
    g = Graph()
    trace = run(g, softsign_net(g, wrong=(17, 2500)))
    result = check(trace, CheckSettings.for_dtype("float64", exhaustive=True))
    local = result.nodes["s"].local[0]
    assert local.method == "coloured"  # softsign is elementwise: its colouring has one colour
    assert [int(i) for i in np.flatnonzero(local.codes == MISMATCH)] == [17, 2500]
    assert all(c.method != "projection" for nc in result.nodes.values() for _, c in nc.comparisons())


SCENARIO = f'''
"""Softsign at scale"""
import numpy as np
from tui_backprop import custom_op, ops

SIZE = {SIZE}


def backward(u, out, x):
    g = u / (1 + np.abs(x)) ** 2
    g[[17, 2500]] *= 1.3
    return g


def build(g, bug=None):
    softsign = custom_op("softsign", lambda x: x / (1 + np.abs(x)), backward)
    x = g.param("x", np.linspace(-3, 3, SIZE))
    return ops.sum(ops.square(softsign(ops.scale(x, 1.5, name="xs"), name="s"), name="q"), name="L")
'''


@pytest.mark.usefixtures("no_colouring")
def test_cli_says_how_each_tensor_was_verified(tmp_path, capsys):
    import json

    from tui_backprop.cli.main import main

    path = tmp_path / "softsign.py"
    path.write_text(SCENARIO)
    assert main(["check", str(path), "--json"]) == 1
    nodes = {n["name"]: n for n in json.loads(capsys.readouterr().out)[0]["nodes"]}
    sent = nodes["s"]["local_check"]
    assert (sent["method"], sent["directions"]) == ("projection", directions_for(SIZE))
    assert sent["inputs"]["xs"]["mismatches"] == [[17], [2500]]
    # Nothing pulls x's gradient back through the custom op: it is projected too, and the elements
    # that the wrong backward spoils downstream are found by halving.
    assert (nodes["x"]["check"]["method"], nodes["x"]["check"]["mismatches"]) == (
        "projection",
        [[17], [2500]],
    )
    assert nodes["s"]["check"]["method"] == "pull-back"
    assert nodes["q"]["local_check"]["method"] == "coloured"

    assert main(["check", str(path)]) == 1
    text = capsys.readouterr().out
    assert "projection" in text and f"s (what it sends to xs, {directions_for(SIZE)} directions)" in text

    assert main(["check", str(path), "--exhaustive", "--json"]) == 1
    nodes = {n["name"]: n for n in json.loads(capsys.readouterr().out)[0]["nodes"]}
    assert nodes["s"]["local_check"]["method"] == "direct"  # not coloured (the fixture), not projected
    assert nodes["s"]["local_check"]["inputs"]["xs"]["mismatches"] == [[17], [2500]]
    assert nodes["x"]["check"]["method"] == "pull-back"
    assert nodes["x"]["check"]["mismatches"] == [[17], [2500]]
