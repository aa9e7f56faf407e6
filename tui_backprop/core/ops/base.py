"""The Op class, its batching helpers, and custom_op: what every op is made of (README, "Ops")."""

from __future__ import annotations

import builtins
import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from tui_backprop.core.graph import Node

Array = np.ndarray
Backward = Callable[..., Any]
MAX_DIMS = 32
"""numpy's ufuncs take at most this many dimensions: a batch of a 32-dimensional tensor (33) is
run one entry at a time instead (the check's probes must never fail on numpy's limits)."""


def over_limit(xs: Sequence[Array]) -> bool:
    return builtins.any(np.ndim(x) > MAX_DIMS for x in xs)


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
        if over_limit(xs):
            return self._loop(xs, batched)
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
            if over_limit(xs):
                size = next(x.shape[0] for x, b in zip(xs, batched, strict=True) if b)
                return np.stack(
                    [
                        np.asarray(self.kink(*(x[i] if b else x for x, b in zip(xs, batched, strict=True))))
                        for i in range(size)
                    ]
                )
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
