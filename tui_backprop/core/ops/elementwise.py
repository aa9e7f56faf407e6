"""Elementwise ops: broadcasting binary ops (add, sub, mul, div, maximum) and unary ops."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from tui_backprop.core.ops.base import Array, Backward, Derivative, Op, align, unbroadcast

if TYPE_CHECKING:
    from tui_backprop.core.graph import Node


# ---------------------------------------------------------------- elementwise binary ops
def _broadcast_tangent(sign: float) -> Callable[..., Array]:
    """Tangent of an op that adds ``sign`` times the perturbed input (add, sub)."""

    def tangent(position: int, t: Array, *xs: Array) -> Array:
        out_shape = np.broadcast_shapes(*(x.shape for x in xs))
        batched = [False] * len(xs)
        batched[position] = True
        aligned = align([*xs[:position], t, *xs[position + 1 :]], batched)[position]
        s = sign if position else 1.0
        return np.broadcast_to(s * aligned, (t.shape[0],) + out_shape)

    return tangent


def _from_backward(backward: Backward) -> Callable[..., Array]:
    """The adjoint of an affine op from its own (correct) backward formula, frozen here."""
    return lambda position, m, *xs: backward(m, None, *xs)[position]


def _add_backward(u: Array, out: Array, a: Array, b: Array) -> tuple[Array, Array]:
    return unbroadcast(u, a.shape), unbroadcast(u, b.shape)


def _sub_backward(u: Array, out: Array, a: Array, b: Array) -> tuple[Array, Array]:
    return unbroadcast(u, a.shape), unbroadcast(-u, b.shape)


def _mul_backward(u: Array, out: Array, a: Array, b: Array) -> tuple[Array, Array]:
    return unbroadcast(u * b, a.shape), unbroadcast(u * a, b.shape)


def _mul_tangent(position: int, t: Array, a: Array, b: Array) -> Array:
    other = b if position == 0 else a
    ta, _ = align([t, other], [True, False])
    return ta * other


def _div_backward(u: Array, out: Array, a: Array, b: Array) -> tuple[Array, Array]:
    return unbroadcast(u / b, a.shape), unbroadcast(-u * a / (b * b), b.shape)


def _div_tangent(position: int, t: Array, a: Array, b: Array) -> Array:
    ta, _ = align([t, b], [True, False])
    return ta / b


def _maximum_backward(u: Array, out: Array, a: Array, b: Array) -> tuple[Array, Array]:
    left = a >= b
    return unbroadcast(u * left, a.shape), unbroadcast(u * ~left, b.shape)


def _ones(out: Array, *xs: Array) -> tuple[Array, ...]:
    return tuple(np.ones_like(out) for _ in xs)


add = Op(
    "add",
    np.add,
    _add_backward,
    "{out} = {0} + {1}",
    2,
    elementwise=True,
    linear_in=frozenset({0, 1}),
    tangent=_broadcast_tangent(1.0),
    adjoint=_from_backward(_add_backward),
    diagonal=True,
    derivative=Derivative(local=("1", "1"), evaluate=_ones),
)
sub = Op(
    "sub",
    np.subtract,
    _sub_backward,
    "{out} = {0} - {1}",
    2,
    elementwise=True,
    linear_in=frozenset({0, 1}),
    tangent=_broadcast_tangent(-1.0),
    adjoint=_from_backward(_sub_backward),
    diagonal=True,
    derivative=Derivative(
        local=("1", "-1"), evaluate=lambda out, a, b: (np.ones_like(out), -np.ones_like(out))
    ),
)
mul = Op(
    "mul",
    np.multiply,
    _mul_backward,
    "{out} = {0} · {1}",
    2,
    elementwise=True,
    linear_in=frozenset({0, 1}),
    tangent=_mul_tangent,
    adjoint=_from_backward(_mul_backward),
    diagonal=True,
    derivative=Derivative(local=("{1}", "{0}"), evaluate=lambda out, a, b: (b, a)),
)
div = Op(
    "div",
    np.divide,
    _div_backward,
    "{out} = {0} / {1}",
    2,
    elementwise=True,
    linear_in=frozenset({0}),
    tangent=_div_tangent,
    adjoint=lambda position, m, a, b: unbroadcast(m / b, a.shape),
    diagonal=True,
    derivative=Derivative(local=("1/{1}", "-{0}/{1}²"), evaluate=lambda out, a, b: (1 / b, -a / (b * b))),
)
maximum = Op(
    "maximum",
    np.maximum,
    _maximum_backward,
    "{out} = max({0}, {1})",
    2,
    elementwise=True,
    kink=np.subtract,
    diagonal=True,
    derivative=Derivative(
        local=("[{0} ≥ {1}]", "[{0} < {1}]"),
        evaluate=lambda out, a, b: ((a >= b).astype(out.dtype), (a < b).astype(out.dtype)),
    ),
)
"""Broadcasting add (also the bias add), sub, mul, div and max."""

# ---------------------------------------------------------------- elementwise unary ops


def _unary(
    name: str,
    forward: Callable[[Array], Array],
    backward: Callable[[Array, Array, Array], Array],
    formula: str,
    derivative: str | None = None,
    local: Callable[[Array, Array], Array] | None = None,
    numbers: str | None = None,
    **kw: Any,
) -> Op:
    """An elementwise one-input op; ``derivative`` is f' in the names, ``local(out, x)`` its value."""
    textbook = None
    if derivative is not None:
        evaluate = (lambda out, x: (local(out, x),)) if local is not None else None
        textbook = Derivative(local=(derivative,), numbers=(numbers,), evaluate=evaluate)
    return Op(name, forward, backward, formula, 1, elementwise=True, derivative=textbook, diagonal=True, **kw)


def _sigmoid(x: Array) -> Array:
    # Two branches so neither exp overflows: the stable form every textbook recommends.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _linear_unary_tangent(factor: float) -> Callable[..., Array]:
    return lambda position, t, x: factor * t


def _linear_unary_adjoint(factor: float) -> Callable[..., Array]:
    return lambda position, m, x: factor * m


neg = _unary(
    "neg",
    np.negative,
    lambda u, out, x: -u,
    "{out} = -{0}",
    "-1",
    lambda out, x: -np.ones_like(out),
    linear_in=frozenset({0}),
    tangent=_linear_unary_tangent(-1.0),
    adjoint=_linear_unary_adjoint(-1.0),
)
exp = _unary(
    "exp", np.exp, lambda u, out, x: u * out, "{out} = exp({0})", "exp({0})", lambda out, x: np.exp(x)
)
log = _unary("log", np.log, lambda u, out, x: u / x, "{out} = log({0})", "1/{0}", lambda out, x: 1 / x)
reciprocal = _unary(
    "reciprocal",
    np.reciprocal,
    lambda u, out, x: -u / (x * x),
    "{out} = 1 / {0}",
    "-1/{0}²",
    lambda out, x: -1 / (x * x),
)
square = _unary(
    "square", np.square, lambda u, out, x: 2 * x * u, "{out} = {0}²", "2·{0}", lambda out, x: 2 * x
)
sigmoid = _unary(
    "sigmoid",
    _sigmoid,
    lambda u, out, x: u * out * (1 - out),
    "{out} = σ({0})",
    "σ({0})·(1-σ({0}))",
    lambda out, x: _sigmoid(x) * (1 - _sigmoid(x)),
    numbers="{out}·(1-{out})",
)
tanh = _unary(
    "tanh",
    np.tanh,
    lambda u, out, x: u * (1 - out * out),
    "{out} = tanh({0})",
    "1-tanh²({0})",
    lambda out, x: 1 - np.tanh(x) ** 2,
    numbers="1-{out}²",
)
relu = _unary(
    "relu",
    lambda x: np.maximum(x, 0),
    lambda u, out, x: u * (x > 0),
    "{out} = relu({0})",
    "[{0} > 0]",
    lambda out, x: (x > 0).astype(out.dtype),
    kink=lambda x: x,
)
abs = _unary(  # noqa: A001 - the op is |x|; ops.abs reads like the maths
    "abs",
    np.abs,
    lambda u, out, x: u * np.sign(x),
    "{out} = |{0}|",
    "sign({0})",
    lambda out, x: np.sign(x),
    kink=lambda x: x,
)


def _num(c: float) -> str:
    return f"{c:g}"


def scale(x: Node, c: float, name: str | None = None) -> Node:
    """``c · x`` for a constant c."""
    op = _unary(
        "scale",
        lambda v: c * v,
        lambda u, out, v: c * u,
        f"{{out}} = {_num(c)} · {{0}}",
        _num(c),
        lambda out, v: np.full_like(out, c),
        linear_in=frozenset({0}),
        tangent=_linear_unary_tangent(c),
        adjoint=_linear_unary_adjoint(c),
    )
    return op(x, name=name)


def add_const(x: Node, c: float, name: str | None = None) -> Node:
    """``c + x`` for a constant c."""
    op = _unary(
        "add_const",
        lambda v: c + v,
        lambda u, out, v: u,
        f"{{out}} = {_num(c)} + {{0}}",
        "1",
        lambda out, v: np.ones_like(out),
        linear_in=frozenset({0}),
        tangent=_linear_unary_tangent(1.0),
        adjoint=_linear_unary_adjoint(1.0),
    )
    return op(x, name=name)


def power(x: Node, p: float, name: str | None = None) -> Node:
    """``x ** p`` for a constant p."""
    op = _unary(
        "power",
        lambda v: v**p,
        lambda u, out, v: u * p * v ** (p - 1),
        f"{{out}} = {{0}}^{_num(p)}",
        f"{_num(p)}·{{0}}^{_num(p - 1)}",
        lambda out, v: p * v ** (p - 1),
    )
    return op(x, name=name)
