"""Reductions (sum, mean, pick), the softmax family and losses."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from tui_backprop.core.ops.base import Array, Backward, Derivative, Op, _batch_axis, align, unbroadcast

if TYPE_CHECKING:
    from tui_backprop.core.graph import Node


def sum(x: Node, axis: int | None = None, name: str | None = None) -> Node:  # noqa: A001
    """Sum over all elements (or one axis)."""
    return _reduction("sum", x, axis, name, mean=False)


def mean(x: Node, axis: int | None = None, name: str | None = None) -> Node:
    """Mean over all elements (or one axis)."""
    return _reduction("mean", x, axis, name, mean=True)


def _reduction(kind: str, x: Node, axis: int | None, name: str | None, mean: bool) -> Node:
    reduce = np.mean if mean else np.sum

    def backward(u: Array, out: Array, v: Array) -> Array:
        count = v.size if axis is None else v.shape[axis]
        g = u if axis is None else np.expand_dims(u, axis)
        g = np.broadcast_to(g, v.shape)
        return g / count if mean else g.copy()

    def batched(flags: tuple[bool], v: Array) -> Array:
        return reduce(v, axis=_batch_axis(axis, v.ndim - 1))

    where = "" if axis is None else f", axis={axis}"
    symbol = f"mean({{0}}{where})" if mean else f"Σ({{0}}{where})"
    op = Op(
        kind,
        lambda v: reduce(v, axis=axis),
        backward,
        f"{{out}} = {symbol}",
        1,
        batched_forward=batched,
        linear_in=frozenset({0}),
        tangent=lambda position, t, v: batched((True,), t),
        adjoint=lambda position, m, v: backward(m, None, v),
        derivative=Derivative(
            local=("1/N" if mean else "1",),
            sent=("d{out} / N, copied to every element" if mean else "d{out}, copied to every element",),
            evaluate=lambda out, v: (
                np.full_like(v, 1 / (v.size if axis is None else v.shape[axis])) if mean else np.ones_like(v),
            ),
        ),
    )
    return op(x, name=name)


def pick(x: Node, index: int | tuple[int, ...], name: str | None = None) -> Node:
    """One element of x, e.g. the probability of the true class: ``p = s[label]``."""
    key = tuple(np.atleast_1d(index).tolist()) if not isinstance(index, tuple) else index

    def backward(u: Array, out: Array, v: Array) -> Array:
        g = np.zeros_like(v)
        g[key] = u
        return g

    def batched(flags: tuple[bool], v: Array) -> Array:
        return v[(slice(None),) + key]

    label = ", ".join(str(k) for k in key)
    op = Op(
        "pick",
        lambda v: v[key],
        backward,
        f"{{out}} = {{0}}[{label}]",
        1,
        batched_forward=batched,
        linear_in=frozenset({0}),
        tangent=lambda position, t, v: batched((True,), t),
        adjoint=lambda position, m, v: backward(m, None, v),
        derivative=Derivative(
            local=(f"[index = {label}]",),
            sent=(f"d{{out}} at [{label}], 0 elsewhere",),
            evaluate=lambda out, v: (_one_hot(v, key),),
        ),
    )
    return op(x, name=name)


def _one_hot(v: Array, key: tuple[int, ...]) -> Array:
    hot = np.zeros_like(v)
    hot[key] = 1
    return hot


# ---------------------------------------------------------------- softmax family and losses
def _softmax_fn(x: Array, axis: int | tuple[int, ...] | None) -> Array:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def _log_softmax_fn(x: Array, axis: int | tuple[int, ...] | None) -> Array:
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


SOFTMAX_SENT = {
    "softmax": "{out} ⊙ (d{out} - ⟨d{out}, {out}⟩)",
    "log_softmax": "d{out} - softmax({0}) · Σ d{out}",
}
"""The VJPs of the softmax family, as the lecture writes them (J = diag(s) - s·sᵀ for softmax)."""


def _softmax_like(kind: str, fn: Callable[..., Array], backward_of_axis, axis: int | None) -> Op:
    where = "" if axis is None else f", axis={axis}"
    return Op(
        kind,
        lambda x: fn(x, axis),
        backward_of_axis(axis),
        f"{{out}} = {kind}({{0}}{where})",
        1,
        batched_forward=lambda flags, x: fn(x, _batch_axis(axis, x.ndim - 1)),
        derivative=Derivative(sent=(SOFTMAX_SENT[kind],)),
    )


def _softmax_backward(axis: int | None) -> Backward:
    def backward(u: Array, s: Array, x: Array) -> Array:
        return s * (u - np.sum(u * s, axis=axis, keepdims=True))

    return backward


def _log_softmax_backward(axis: int | None) -> Backward:
    def backward(u: Array, out: Array, x: Array) -> Array:
        return u - np.exp(out) * np.sum(u, axis=axis, keepdims=True)

    return backward


def softmax(x: Node, axis: int | None = None, name: str | None = None) -> Node:
    """Numerically stable softmax over all elements (or one axis, e.g. axis=-1 for a batch)."""
    return _softmax_like("softmax", _softmax_fn, _softmax_backward, axis)(x, name=name)


def log_softmax(x: Node, axis: int | None = None, name: str | None = None) -> Node:
    """Numerically stable log-softmax over all elements (or one axis)."""
    return _softmax_like("log_softmax", _log_softmax_fn, _log_softmax_backward, axis)(x, name=name)


def softmax_op(axis: int | None = None) -> Op:
    """The softmax op itself, for scenarios that swap in a different backward rule."""
    return _softmax_like("softmax", _softmax_fn, _softmax_backward, axis)


def log_softmax_op(axis: int | None = None) -> Op:
    """The log-softmax op itself, for scenarios that swap in a different backward rule."""
    return _softmax_like("log_softmax", _log_softmax_fn, _log_softmax_backward, axis)


def _bce(a: Array, y: Array) -> Array:
    return -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a))


def _bce_backward(u: Array, out: Array, a: Array, y: Array) -> tuple[Array, Array]:
    da = u * (a - y) / (a * (1 - a))
    dy = u * (np.log(1 - a) - np.log(a))
    return unbroadcast(np.broadcast_to(da, np.broadcast_shapes(a.shape, y.shape)), a.shape), (
        unbroadcast(np.broadcast_to(dy, np.broadcast_shapes(a.shape, y.shape)), y.shape)
    )


def _bce_batched(batched: tuple[bool, bool], a: Array, y: Array) -> Array:
    aa, yy = align([a, y], batched)
    terms = yy * np.log(aa) + (1 - yy) * np.log(1 - aa)
    return -terms.reshape(terms.shape[0], -1).sum(axis=1)


binary_cross_entropy = Op(
    "bce",
    _bce,
    _bce_backward,
    "{out} = -({1}·log {0} + (1-{1})·log(1-{0}))",
    2,
    batched_forward=_bce_batched,
    derivative=Derivative(
        local=("({0}-{1})/({0}·(1-{0}))", "log(1-{0}) - log({0})"),
        evaluate=lambda out, a, y: (
            np.broadcast_to((a - y) / (a * (1 - a)), np.broadcast_shapes(a.shape, y.shape)),
            np.broadcast_to(np.log(1 - a) - np.log(a), np.broadcast_shapes(a.shape, y.shape)),
        ),
    ),
)
"""Summed binary cross-entropy of probabilities ``a`` against targets ``y``."""
