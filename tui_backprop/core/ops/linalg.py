"""Linear algebra ops: matmul, transpose and the affine layer ``linear``."""

from __future__ import annotations

import numpy as np

from tui_backprop.core.ops.base import Array, Derivative, Op, align, unbroadcast
from tui_backprop.core.ops.elementwise import _broadcast_tangent


# ---------------------------------------------------------------- matrix and reduction ops
def _as_matrices(a: Array, b: Array, batched: tuple[bool, bool]) -> tuple[Array, Array]:
    """Promote 1-D operands of a matmul to matrices, keeping any leading batch axis."""
    core_a = a.ndim - batched[0]
    core_b = b.ndim - batched[1]
    if core_a == 1:
        a = np.expand_dims(a, -2)
    if core_b == 1:
        b = np.expand_dims(b, -1)
    return a, b


def _matmul_batched(batched: tuple[bool, bool], a: Array, b: Array) -> Array:
    a2, b2 = _as_matrices(a, b, batched)
    if batched == (True, False) and b2.ndim == 2:
        n, m, k = a2.shape
        out = (a2.reshape(n * m, k) @ b2).reshape(n, m, b2.shape[1])
    elif batched == (False, True) and a2.ndim == 2:
        n, k, c = b2.shape
        flat = b2.transpose(1, 0, 2).reshape(k, n * c)
        out = (a2 @ flat).reshape(a2.shape[0], n, c).transpose(1, 0, 2)
    else:
        out = np.matmul(a2, b2)
    core_a = a.ndim - batched[0]
    core_b = b.ndim - batched[1]
    if core_b == 1:
        out = out[..., 0]
    if core_a == 1:
        out = out[..., 0, :] if core_b != 1 else out[..., 0]
    return out


def _matmul_backward(u: Array, out: Array, a: Array, b: Array) -> tuple[Array, Array]:
    if a.ndim == 1 and b.ndim == 1:
        return u * b, u * a
    a2, b2 = _as_matrices(a, b, (False, False))
    u2 = u.reshape(a2.shape[0], b2.shape[1])
    return (u2 @ b2.T).reshape(a.shape), (a2.T @ u2).reshape(b.shape)


def _matmul_adjoint(position: int, m: Array, a: Array, b: Array) -> Array:
    if a.ndim == 1 and b.ndim == 1:
        return m * (b if position == 0 else a)
    a2, b2 = _as_matrices(a, b, (False, False))
    m2 = m.reshape(a2.shape[0], b2.shape[1])
    return (m2 @ b2.T).reshape(a.shape) if position == 0 else (a2.T @ m2).reshape(b.shape)


def _matmul_tangent(position: int, t: Array, a: Array, b: Array) -> Array:
    if position == 0:
        return _matmul_batched((True, False), t, b)
    return _matmul_batched((False, True), a, t)


def _matmul_basis_tangent(position: int, flat: Array, a: Array, b: Array) -> Array:
    """One row (or column) of the output moves per perturbed element: build just that."""
    a2, b2 = _as_matrices(a, b, (False, False))
    count = len(flat)
    out = np.zeros((count, a2.shape[0], b2.shape[1]), dtype=np.result_type(a, b))
    rows = np.arange(count)
    if position == 0:
        p, q = np.unravel_index(flat, a2.shape)
        out[rows, p, :] = b2[q, :]
    else:
        q, r = np.unravel_index(flat, b2.shape)
        out[rows, :, r] = a2[:, q].T
    return out.reshape((count,) + _matmul_shape(a, b))


def _matmul_shape(a: Array, b: Array) -> tuple[int, ...]:
    rows = () if a.ndim == 1 else (a.shape[0],)
    cols = () if b.ndim == 1 else (b.shape[-1],)
    return rows + cols


def _matmul(a: Array, b: Array) -> Array:
    if a.ndim not in (1, 2) or b.ndim not in (1, 2):
        raise ValueError(f"matmul takes 1-D or 2-D operands, got shapes {a.shape} and {b.shape}")
    if a.shape[-1] != b.shape[0]:
        raise ValueError(
            f"matmul: shapes {a.shape} and {b.shape} do not line up "
            f"({a.shape[-1]} columns against {b.shape[0]} rows)"
        )
    return np.matmul(a, b)


matmul = Op(
    "matmul",
    _matmul,
    _matmul_backward,
    "{out} = {0} @ {1}",
    2,
    batched_forward=_matmul_batched,
    linear_in=frozenset({0, 1}),
    tangent=_matmul_tangent,
    basis_tangent=_matmul_basis_tangent,
    adjoint=_matmul_adjoint,
    derivative=Derivative(sent=("d{out} · {1}ᵀ", "{0}ᵀ · d{out}")),
)


def _transpose_batched(batched: tuple[bool], x: Array) -> Array:
    """``x.T`` of each batch element: every core axis reversed, the batch axis kept first."""
    if not batched[0]:
        return x.T
    return np.transpose(x, (0, *range(x.ndim - 1, 0, -1)))


transpose = Op(
    "transpose",
    lambda x: x.T,
    lambda u, out, x: u.T,
    "{out} = {0}ᵀ",
    1,
    batched_forward=_transpose_batched,
    linear_in=frozenset({0}),
    tangent=lambda position, t, x: _transpose_batched((True,), t),
    derivative=Derivative(sent=("(d{out})ᵀ",)),
    adjoint=lambda position, m, x: m.T,
)


# ---------------------------------------------------------------- the affine layer
def _linear_batched(batched: tuple[bool, bool, bool], w: Array, x: Array, b: Array) -> Array:
    product_batched = batched[0] or batched[1]
    product = _matmul_batched((batched[0], batched[1]), w, x) if product_batched else _matmul(w, x)
    p, bias = align([product, b], [product_batched, batched[2]])
    return p + bias


def _linear_backward(u: Array, out: Array, w: Array, x: Array, b: Array) -> tuple[Array, ...]:
    product_shape = _matmul_shape(w, x)
    u_product = unbroadcast(u, product_shape) if u.shape != product_shape else u
    dw, dx = _matmul_backward(u_product, out, w, x)
    return dw, dx, unbroadcast(u, b.shape)


def _linear_tangent(position: int, t: Array, w: Array, x: Array, b: Array) -> Array:
    out_shape = np.broadcast_shapes(_matmul_shape(w, x), b.shape)
    if position == 2:
        return _broadcast_tangent(1.0)(1, t, np.empty(out_shape), b)
    return np.broadcast_to(_matmul_tangent(position, t, w, x), (t.shape[0],) + out_shape)


def _linear_adjoint(position: int, m: Array, w: Array, x: Array, b: Array) -> Array:
    if position == 2:
        return unbroadcast(m, b.shape)
    product_shape = _matmul_shape(w, x)
    return _matmul_adjoint(position, unbroadcast(m, product_shape) if m.shape != product_shape else m, w, x)


def _linear_basis_tangent(position: int, flat: Array, w: Array, x: Array, b: Array) -> Array:
    out_shape = np.broadcast_shapes(_matmul_shape(w, x), b.shape)
    if position == 2:
        t = np.zeros((len(flat), b.size), dtype=b.dtype)
        t[np.arange(len(flat)), flat] = 1
        return _linear_tangent(2, t.reshape((len(flat),) + b.shape), w, x, b)
    moved = _matmul_basis_tangent(position, flat, w, x)
    return np.broadcast_to(moved, (len(flat),) + out_shape)


linear = Op(
    "linear",
    lambda w, x, b: _matmul(w, x) + b,
    _linear_backward,
    "{out} = {0} @ {1} + {2}",
    3,
    batched_forward=_linear_batched,
    linear_in=frozenset({0, 1, 2}),
    tangent=_linear_tangent,
    basis_tangent=_linear_basis_tangent,
    adjoint=_linear_adjoint,
    derivative=Derivative(sent=("d{out} · {1}ᵀ", "{0}ᵀ · d{out}", "d{out}")),
)
"""The affine layer ``W @ x + b`` as one node, the way a lecture draws it."""
