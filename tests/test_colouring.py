"""Exact where structure allows (README, "How the check works"): an author's op whose Jacobian is
sparse gets every element's own numeric derivative in two runs per colour (check/colouring.py)."""

from __future__ import annotations

import numpy as np
import pytest

from tui_backprop import Graph, custom_op, ops
from tui_backprop.check import colouring
from tui_backprop.check.batchprobe import noise_of
from tui_backprop.check.gradcheck import MISMATCH, CheckSettings, check
from tui_backprop.core.trace import run

F64 = CheckSettings.for_dtype("float64")
rng = np.random.default_rng(0)


def rownorm(x):
    return x / np.sqrt(1 + np.sum(x * x, axis=-1, keepdims=True))


def colsoftmax(x):
    e = np.exp(x - x.max(axis=0, keepdims=True))
    return e / e.sum(axis=0, keepdims=True)


def conv(x):
    return np.convolve(x, [1.0, -2.0, 0.5], mode="same") ** 2


def blocks(x):
    """Blocks of 4 along the last axis, each normalised by its own sum of squares."""
    b = x.reshape(x.shape[:-1] + (-1, 4))
    return (b / np.sqrt(1 + np.sum(b * b, axis=-1, keepdims=True))).reshape(x.shape)


STRUCTURED = {
    # name: (forward, input, position, the fewest colours that work)
    "elementwise": (lambda x: x / (1 + np.abs(x)), [rng.standard_normal(20_000)], 0, 1),
    "row-wise": (rownorm, [rng.standard_normal((500, 8))], 0, 8),
    "softmax over axis 0": (colsoftmax, [rng.standard_normal((10, 300))], 0, 10),
    "banded (conv1d)": (conv, [rng.standard_normal(4000)], 0, 3),
    "blockwise": (blocks, [rng.standard_normal((50, 16))], 0, 4),
    "a layer's bias": (
        lambda w, h, b: w @ h + b,
        [rng.standard_normal((30, 60)), rng.standard_normal((60, 16)), rng.standard_normal((30, 1))],
        2,
        1,
    ),
}


def direct(forward, xs, position, u, eps=1e-6):
    """d⟨u, op(x)⟩/dx, one element at a time: what colouring must equal."""
    x = xs[position]
    numeric = np.zeros(x.size)
    for j in range(x.size):
        moved = [[v.copy() for v in xs] for _ in range(2)]
        moved[0][position].reshape(-1)[j] += eps
        moved[1][position].reshape(-1)[j] -= eps
        numeric[j] = np.sum(u * (forward(*moved[0]) - forward(*moved[1]))) / (2 * eps)
    return numeric.reshape(x.shape)


@pytest.mark.parametrize("name", list(STRUCTURED))
def test_structured_ops_are_coloured_and_every_element_equals_its_own_probe(name):
    forward, xs, position, fewest = STRUCTURED[name]
    op = custom_op(name, forward, lambda u, out, *x: x)
    out = np.asarray(forward(*xs))
    found = colouring.find(op, xs, position, out)
    assert found is not None and fewest <= found.count <= 2 * fewest
    u = rng.standard_normal(out.shape)
    estimate = colouring.local_estimate(op, xs, position, u, out, found, 1e-6, noise_of(np.dtype("float64")))
    assert estimate is not None
    small = [v[:40] if i == position and v.ndim == 1 else v for i, v in enumerate(xs)]
    if small[position].shape != xs[position].shape:  # 1-d: a prefix is enough to compare
        sub_out = np.asarray(forward(*small))
        u_small = u[: sub_out.size].reshape(sub_out.shape)
        est = colouring.local_estimate(
            op,
            small,
            position,
            u_small,
            sub_out,
            colouring.find(op, small, position, sub_out),
            1e-6,
            noise_of(np.dtype("float64")),
        )
        expected, got = direct(forward, small, position, u_small), est.numeric
    else:
        expected, got = direct(forward, xs, position, u), estimate.numeric
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-8)


def test_a_dense_jacobian_is_not_coloured():
    w, h, b = rng.standard_normal((30, 60)), rng.standard_normal((60, 16)), rng.standard_normal((30, 1))
    op = custom_op("dense", lambda w, h, b: w @ h + b, lambda u, out, *x: x)
    out = w @ h + b
    assert colouring.find(op, [w, h, b], 0, out) is None
    assert colouring.find(op, [w, h, b], 1, out) is None


def test_an_op_that_raises_on_nan_is_not_coloured():
    def picky(x):
        if np.isnan(x).any():
            raise ValueError("no NaN here")
        return x * 2

    op = custom_op("picky", picky, lambda u, out, x: 2 * u)
    x = rng.standard_normal(100)
    assert colouring.find(op, [x], 0, picky(x)) is None


def softsign_graph(size: int, wrong: dict[int, float], dtype: str = "float64", forward=None):
    def backward(u, out, x):
        g = u / (1 + np.abs(x)) ** 2
        for k, factor in wrong.items():
            g[k] *= factor
        return g

    g = Graph(dtype)
    op = custom_op("softsign", forward or (lambda x: x / (1 + np.abs(x))), backward)
    x = g.param("x", np.random.default_rng(1).standard_normal(size))
    return g, ops.sum(ops.square(op(x, name="s"), name="q"), name="L")


def test_a_100k_custom_elementwise_op_is_compared_element_by_element_and_one_wrong_element_listed():
    result = check(run(*softsign_graph(100_000, {77_777: 1.01})), F64)
    sent = result.nodes["s"].local[0]
    assert (sent.method, sent.n_probed, sent.n_covered) == ("coloured", 100_000, 0)
    assert result.blame == ["s"] and [int(i) for i in np.flatnonzero(sent.codes == MISMATCH)] == [77_777]
    grad = result.nodes["x"].grad  # pulled back through the op's coloured Jacobian: compared too
    assert (grad.method, grad.n_probed) == ("pull-back", 100_000)
    assert [int(i) for i in np.flatnonzero(grad.codes == MISMATCH)] == [77_777]


def test_the_same_op_right_passes_with_every_element_compared():
    result = check(run(*softsign_graph(100_000, {})), F64)
    assert result.verdict == "pass"
    assert all(c.n_covered == 0 for nc in result.nodes.values() for _, c in nc.comparisons())


def test_a_dependence_that_swallows_nan_is_not_trusted():
    """np.fmax turns a NaN into the other argument: the NaNs miss that dependence, the ±eps runs
    see it, and the colouring is refused rather than trusted (no false mismatch)."""

    def leaky(x):
        return np.fmax(x, 0) + 0.1 * np.fmin(x, 0)

    op = custom_op("leaky", leaky, lambda u, out, x: u * np.where(x > 0, 1.0, 0.1))
    x = np.random.default_rng(1).standard_normal(5000)
    found = colouring.find(op, [x], 0, leaky(x))
    assert found is not None  # every output looks unreached: one colour "works"
    u = np.ones(5000)
    assert (
        colouring.local_estimate(op, [x], 0, u, leaky(x), found, 1e-6, noise_of(np.dtype("float64"))) is None
    )
    g = Graph()
    xn = g.param("x", x)
    result = check(run(g, ops.sum(ops.square(op(xn, name="s"), name="q"), name="L")), F64)
    assert result.verdict == "pass" and result.blame == []


def test_a_user_layer_bias_is_coloured_not_probed_one_by_one():
    calls = []

    def dense(w, h, b):
        calls.append(1)
        return w @ h + b

    g = Graph()
    rng_ = np.random.default_rng(3)
    op = custom_op(
        "dense",
        dense,
        lambda u, out, w, h, b: (u @ h.T, w.T @ u, u.sum(axis=1, keepdims=True)),
    )
    h = g.input("x", rng_.standard_normal((300, 64)))
    w = g.param("W", rng_.standard_normal((200, 300)) / 20)
    b = g.param("b", rng_.standard_normal((200, 1)))
    result = check(
        run(g, ops.sum(ops.square(ops.tanh(op(w, h, b, name="z"), name="a"), name="q"), name="L")), F64
    )
    sent = result.nodes["z"].local[2]
    assert (sent.method, sent.n_probed) == ("coloured", 200)
    assert result.verdict == "pass"
    assert len(calls) < 200  # a probe per bias element would be 400 runs of the layer


@pytest.mark.parametrize("colour", [True, False])
def test_digits_at_300_images_in_float32_blames_the_sign_flipped_log_softmax(monkeypatch, colour):
    """Another session saw this bug pass under projection once (300 images, float32): the
    log-softmax's input is now coloured (10 colours) and compared element by element, and with
    the colouring off the projection blames it too."""
    from tui_backprop.core import scenarios

    spec = scenarios.load("digits")
    pixels, digits = spec.module.load()
    monkeypatch.setattr(
        spec.module, "load", lambda: (np.tile(pixels, (2, 1))[:300], np.tile(digits, 2)[:300])
    )
    if not colour:
        monkeypatch.setattr(colouring, "MAX_RUNS", 0)
    g, out = scenarios.build(spec, "logsoftmax-sign", "float32")
    result = check(run(g, out), CheckSettings.for_dtype("float32"))
    sent = result.nodes["logp"].local[0]
    assert result.blame == ["logp"] and sent.method == ("coloured" if colour else "projection")
    assert sent.n_mismatch > 0
