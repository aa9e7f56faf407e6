"""Ops: each one holds its forward rule and its backward rule (a vector-Jacobian product) side by side.

An op is called on graph nodes to add a node: ``mul(x, w0, name="a")``. Parameterised ops are
functions that bake their parameter into a fresh op: ``scale(b, -1.0, name="c")``. Authors write
their own with :class:`Op` (or :func:`custom_op`); their backward is exactly what the check judges.

Besides forward and backward, an op may tell the checker three things that make it fast and fair:
- ``elementwise`` / ``batched_forward``: how to evaluate it on a whole batch of perturbed inputs at
  once (the batch is a new leading axis), instead of one Python call per perturbation;
- ``linear_in`` / ``tangent``: inputs in which the forward is affine, so a perturbation of that
  input can be pushed through exactly and the batch of full evaluations starts further downstream;
- ``kink``: a signed coordinate whose sign changes exactly at a non-differentiable point (relu at
  0, |x| at 0, max where a = b), so a finite-difference probe that straddles one is reported as a
  kink rather than a wrong gradient;
- ``adjoint`` (built-in affine ops): the tangent map's transpose, applied to a whole gradient at
  once. It is the op's *original* backward formula, kept apart from ``backward`` so that a bug
  planted with ``with_backward`` does not reach it; the check uses it to pull numeric gradients
  back through the op exactly, at the cost of one backward instead of one probe per element;
- ``diagonal`` (built-in elementwise ops): every output element depends on one element of each
  input (numpy broadcasting), so moving a whole input at once gives every element's derivative
  in one run (column grouping, as in sparse Jacobian estimation).

And, for teaching, ``derivative``: the op's local derivative as the textbook writes it, beside the
forward and backward it describes (see :class:`Derivative`; the app writes the chain rule out with it).
"""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tui_backprop.graph import Node

Array = np.ndarray
Backward = Callable[..., Any]


# ---------------------------------------------------------------- batching helpers
def align(xs: Sequence[Array], batched: Sequence[bool]) -> list[Array]:
    """Make batched (leading-axis) and unbatched arrays broadcast like the unbatched originals.

    A batched array of shape (B, *s) gets singleton axes between B and s so that numpy's
    right-aligned broadcasting pairs its own axes with those of the other inputs.
    """
    ndim = builtins.max(x.ndim - (1 if b else 0) for x, b in zip(xs, batched, strict=True))
    out = []
    for x, b in zip(xs, batched, strict=True):
        if b:
            core = x.shape[1:]
            x = x.reshape((x.shape[0],) + (1,) * (ndim - len(core)) + core)
        out.append(x)
    return out


def unbroadcast(grad: Array, shape: tuple[int, ...]) -> Array:
    """Sum a gradient back down to ``shape``: the backward half of numpy broadcasting."""
    while grad.ndim > len(shape):
        grad = grad.sum(axis=0)
    for axis, size in enumerate(shape):
        if size == 1 and grad.shape[axis] != 1:
            grad = grad.sum(axis=axis, keepdims=True)
    return grad


def _batch_axis(axis: int | None, ndim: int) -> int | tuple[int, ...]:
    """The axis of an unbatched reduction, moved past the leading batch axis."""
    if axis is None:
        return tuple(range(1, ndim + 1))
    return axis + 1 if axis >= 0 else axis


# ---------------------------------------------------------------- the textbook derivative
@dataclass(frozen=True)
class Derivative:
    """An op's local derivative as a lecture writes it, one template per input (README: custom ops).

    Templates use the names of ``formula``: ``{0}``, ``{1}``, ... for the inputs, ``{out}`` for the
    output, ``d{out}`` for the upstream gradient dL/dout.

    - ``local``: ∂out/∂input elementwise, e.g. ``"-1/{0}²"`` for 1/x, ``"{1}"`` for the first input
      of a product. The app shows it in names, then with the numbers plugged in, then times the
      upstream gradient.
    - ``numbers``: where the numbers read better in another form than the names, the form they are
      plugged into (sigmoid: ``σ({0})·(1-σ({0}))`` in names, ``{out}·(1-{out})`` with numbers).
    - ``sent``: the gradient an input receives, in matrix form, e.g. ``"d{out} · {1}ᵀ"`` for the
      left operand of a matmul; the app adds the shapes.
    - ``evaluate(out, *inputs)``: the textbook ∂out/∂input of every ``local`` template, as arrays
      that broadcast against the output (or shaped like the input, for a reduction to a scalar).
      With it the app can put the textbook's number beside what the backward rule did; without
      it, it shows what the backward rule did.
    """

    local: tuple[str | None, ...] = ()
    numbers: tuple[str | None, ...] = ()
    sent: tuple[str | None, ...] = ()
    evaluate: Callable[..., Sequence[Any]] | None = field(default=None, repr=False, compare=False)

    def local_template(self, position: int) -> str | None:
        return self.local[position] if position < len(self.local) else None

    def numbers_template(self, position: int) -> str | None:
        own = self.numbers[position] if position < len(self.numbers) else None
        return own or self.local_template(position)

    def sent_template(self, position: int) -> str | None:
        return self.sent[position] if position < len(self.sent) else None


def as_derivative(spec: Derivative | str | Sequence[str | None] | None) -> Derivative | None:
    """``derivative=`` as an author writes it: a template (one input), one per input, or a Derivative."""
    if spec is None or isinstance(spec, Derivative):
        return spec
    if isinstance(spec, str):
        return Derivative(local=(spec,))
    return Derivative(local=tuple(spec))


# ---------------------------------------------------------------- the op type
@dataclass(frozen=True)
class Op:
    """A forward rule and its backward rule (VJP).

    ``forward(*inputs) -> out`` and ``backward(upstream, out, *inputs) -> grads``, one gradient per
    input (a single array is accepted for one-input ops). ``formula`` is a template such as
    ``"{out} = {0} · {1}"``; ``derivative`` the local derivative the textbook writes beside it
    (a :class:`Derivative`, or a template string per input such as ``"-1/{0}²"``).
    """

    name: str
    forward: Callable[..., Any]
    backward: Backward
    formula: str = ""
    arity: int | None = None
    elementwise: bool = False
    batched_forward: Callable[..., Array] | None = field(default=None, repr=False)
    linear_in: frozenset[int] = frozenset()
    tangent: Callable[..., Array] | None = field(default=None, repr=False)
    basis_tangent: Callable[..., Array] | None = field(default=None, repr=False)
    kink: Callable[..., Array] | None = field(default=None, repr=False)
    derivative: Derivative | None = field(default=None, repr=False)
    adjoint: Callable[..., Array] | None = field(default=None, repr=False)
    """``adjoint(position, m, *inputs)``: the transpose of the tangent map in input ``position``
    applied to ``m`` (shaped like the output); the result is shaped like that input."""
    diagonal: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.derivative, Derivative | None):
            object.__setattr__(self, "derivative", as_derivative(self.derivative))

    def __call__(self, *inputs: Node, name: str | None = None) -> Node:
        if not inputs:
            raise TypeError(f"{self.name} needs at least one input node")
        return inputs[0].graph.apply(self, inputs, name)

    def with_backward(self, backward: Backward, name: str | None = None) -> Op:
        """The same forward with another backward rule: how a scenario plants a bug."""
        return dataclasses.replace(self, backward=backward, name=name or self.name)

    def render_formula(self, out: str, inputs: Sequence[str]) -> str:
        if self.formula:
            try:
                return str(self.formula.format(*inputs, out=out))
            except Exception:  # the author's template: "{5}", "{0!z}", a lone "{" ...
                pass
        return f"{out} = {self.name}({', '.join(inputs)})"

    def run_batched(self, xs: Sequence[Array], batched: Sequence[bool]) -> Array:
        """The forward on inputs of which some carry a leading batch axis.

        Raises ``ProbeError`` when the author's code raises or breaks its own promise
        (``elementwise=True`` with a forward that changes shape), so the check reports it.
        """
        try:
            if self.batched_forward is not None:
                return self.batched_forward(tuple(batched), *xs)
            if self.elementwise:
                aligned = align(xs, batched)
                out = np.asarray(self.forward(*aligned))
                expected = np.broadcast_shapes(*(x.shape for x in aligned))
                if out.shape != expected:
                    raise ProbeError(
                        self,
                        "elementwise",
                        f"elementwise=True, but its forward returns shape {list(out.shape)} for inputs "
                        f"broadcasting to {list(expected)}; drop elementwise=True",
                    )
                return out
            return self._loop(xs, batched)
        except ProbeError:
            raise
        except Exception as exc:  # the author's forward on a probed value: anything can happen
            if self.elementwise:
                self._loop(xs, batched)  # raises ProbeError "forward" if one value fails alone
                message = f"elementwise=True, but its forward fails on a batch: {type(exc).__name__}: {exc}"
                raise ProbeError(self, "elementwise", message, exc) from exc
            raise ProbeError(self, "forward", f"{type(exc).__name__}: {exc}", exc) from exc

    def _loop(self, xs: Sequence[Array], batched: Sequence[bool]) -> Array:
        """The plain forward once per batch entry."""
        size = next(x.shape[0] for x, b in zip(xs, batched, strict=True) if b)
        try:
            return np.stack(
                [
                    np.asarray(self.forward(*(x[i] if b else x for x, b in zip(xs, batched, strict=True))))
                    for i in range(size)
                ]
            )
        except Exception as exc:
            raise ProbeError(self, "forward", f"{type(exc).__name__}: {exc}", exc) from exc

    def kink_batched(self, xs: Sequence[Array], batched: Sequence[bool]) -> Array:
        """The kink coordinate on batched inputs (kink functions are elementwise)."""
        assert self.kink is not None
        try:
            return np.asarray(self.kink(*align(xs, batched)))
        except Exception as exc:
            message = f"its kink= function raised {type(exc).__name__}: {exc}"
            raise ProbeError(self, "kink", message, exc) from exc

    def tangent_of_basis(self, position: int, flat: Array, xs: Sequence[Array]) -> Array:
        """The exact change of the output per unit change of input ``position`` at ``flat`` indices."""
        if self.basis_tangent is not None:
            return self.basis_tangent(position, flat, *xs)
        shape = xs[position].shape
        basis = np.zeros((len(flat), int(np.prod(shape, dtype=int))), dtype=xs[position].dtype)
        basis[np.arange(len(flat)), flat] = 1
        return self.tangent_batched(position, basis.reshape((len(flat),) + shape), xs)

    def tangent_batched(self, position: int, t: Array, xs: Sequence[Array]) -> Array:
        assert self.tangent is not None
        return self.tangent(position, t, *xs)


class ProbeError(Exception):
    """An op's own code failed while the check probed it (README, "How the check works").

    ``kind``: ``forward`` (the forward raised on a probed value), ``elementwise`` (a forward
    declared elementwise that does not broadcast over a batch) or ``kink`` (the kink= function
    raised). The last two are the op's fault: its declaration is wrong.
    """

    def __init__(self, op: Op, kind: str, message: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.op = op
        self.kind = kind
        self.message = message
        self.cause = cause

    @property
    def op_at_fault(self) -> bool:
        return self.kind in ("elementwise", "kink")


def custom_op(
    name: str,
    forward: Callable[..., Any],
    backward: Backward,
    formula: str = "",
    *,
    kink: Callable[..., Array] | None = None,
    elementwise: bool = False,
    derivative: Derivative | str | Sequence[str | None] | None = None,
) -> Op:
    """An author's own op. Set ``elementwise=True`` only if forward broadcasts like ``np.add``."""
    return Op(
        name,
        forward,
        backward,
        formula,
        elementwise=elementwise,
        kink=kink,
        derivative=as_derivative(derivative),
    )


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
