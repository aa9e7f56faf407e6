"""How the check gets numeric derivatives without one probe per element where it does not need one.

Three ways, each exact per element (README, "How the check works"):

- **batched probes**: a tensor repeated with ±eps at one element per batch entry, run through
  the ops downstream as one batch (the helpers at the top of this module);
- **pull-back through an affine op**: for a built-in op that is affine in an input, its
  ``adjoint`` (the tangent map's transpose, frozen from the op's original formula so a planted
  bug cannot reach it) takes a whole numeric gradient back through the op at once: finite
  differences of an affine map are that map, up to round-off;
- **column grouping through an elementwise op**: every output element of a built-in
  elementwise op depends on one element of each input, so moving a whole input by ±eps at once
  gives every element's derivative in two runs of the op.

Nothing here judges: it returns estimates (numeric value, round-off level, kink flag per element)
for ``gradcheck`` to compare.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tui_backprop.core.ops import Op, unbroadcast

Array = np.ndarray
Noise = Callable[[Array, Array], Array]
"""(magnitude of the probed values, half step) -> the round-off level of their difference."""


@dataclass
class Estimate:
    """A numeric derivative of one scalar with respect to every element of one tensor."""

    numeric: Array
    noise: Array
    kinks: Array
    rests_on: float | None = None
    """None: finite differences and exact maps only. Else it was carried back through an author's
    backward rule (pullback: its local check verified it by projection only), and this is the
    largest bound of those projections: its elements are *covered*, not compared."""

    def __iadd__(self, other: Estimate) -> Estimate:
        self.numeric = self.numeric + other.numeric
        self.noise = self.noise + other.noise
        self.kinks = self.kinks | other.kinks
        self.rests_on = rests_on(self.rests_on, other.rests_on)
        return self


def rests_on(*bounds: float | None) -> float | None:
    """The largest of the bounds an estimate rests on (None: it rests on none)."""
    known = [b for b in bounds if b is not None]
    return max(known) if known else None


# ---------------------------------------------------------------- batched probes
def half_step(base: Array, flat: Array | slice, eps: float) -> Array:
    """The true half-step of the ±eps probe after rounding to the dtype (exact for float32 too)."""
    x = base.reshape(-1)[flat]
    h = base.dtype.type(eps)
    return ((x + h).astype(np.float64) - (x - h).astype(np.float64)) / 2


def perturbed(base: Array, flat: Array, eps: float) -> Array:
    """The base tensor repeated with +eps then -eps at one element each: a (2·len(flat))-batch."""
    count = len(flat)
    batch = np.empty((2 * count, base.size), dtype=base.dtype)
    batch[...] = base.reshape(-1)
    rows = np.arange(count)
    batch[rows, flat] += base.dtype.type(eps)
    batch[rows + count, flat] -= base.dtype.type(eps)
    return batch.reshape((2 * count,) + base.shape)


def sign_changed(plus: Array, minus: Array) -> Array:
    """Elementwise: did a kink coordinate change sign between the +eps and the -eps run?"""
    return ((plus > 0) != (minus > 0)) | ((plus < 0) != (minus < 0))


def straddles(op_kink: Array, count: int) -> Array:
    """Per probe: did any kink coordinate change sign between the +eps and the -eps run?"""
    changed = sign_changed(op_kink[:count], op_kink[count:])
    return changed.reshape(count, -1).any(axis=1)


def as_batch(result: Array, like: Array, size: int) -> Array:
    result = np.asarray(result)
    expected = (size,) + like.shape
    if result.shape != expected:
        result = np.broadcast_to(result, expected)
    return result.astype(like.dtype, copy=False)


# ---------------------------------------------------------------- affine ops: the adjoint
def can_pull_back_affine(op: Op | None, position: int) -> bool:
    return op is not None and op.adjoint is not None and position in op.linear_in


def _magnitude(op: Op, position: int, m: Array, xs: Sequence[Array]) -> Array:
    """|T|ᵀ|m|: the adjoint on absolute values (every built-in tangent entry is ± a product of
    other inputs' entries, so this is the sum of the magnitudes the difference is made of)."""
    assert op.adjoint is not None
    # The map is affine in xs[position]: its own values do not enter the adjoint, only its shape.
    magnitudes = [x if i == position else np.abs(x) for i, x in enumerate(xs)]
    with np.errstate(all="ignore"):
        return np.abs(op.adjoint(position, np.abs(m), *magnitudes))


INPUT_VALUED = frozenset({"mul", "div", "matmul", "linear"})
"""Built-in affine ops whose tangent entries are other inputs' values (the rest: constants)."""


def _propagated(op: Op, position: int, noise: Array, xs: Sequence[Array]) -> Array:
    """The round-off of an estimate carried back through Tᵀ: root-sum-square over the terms.

    Round-off errors do not conspire, and a worst-case sum (|T|ᵀ noise) compounded over a deep
    graph grows like the product of |W|'s row sums, which soon dwarfs any real error (250 tanh
    layers: 1e75). Where T's entries are input values, Σ T² n² is the adjoint of n² with the
    inputs squared; where they are constants (±1, c, 1/N), |T|ᵀ n bounds it.
    """
    assert op.adjoint is not None
    if op.name not in INPUT_VALUED or (op.name == "linear" and position == 2):
        return _magnitude(op, position, noise, xs)
    squared = [x if i == position else np.square(x, dtype=np.float64) for i, x in enumerate(xs)]
    with np.errstate(all="ignore"):
        return np.sqrt(np.abs(op.adjoint(position, np.square(noise), *squared)))


def affine_local(op: Op, position: int, u: Array, xs: Sequence[Array], noise: Noise) -> Estimate:
    """Numeric d⟨u, op(x)⟩/dx_position for an op affine in that input: Tᵀu, all elements at once."""
    assert op.adjoint is not None
    with np.errstate(all="ignore"):
        numeric = np.asarray(op.adjoint(position, u, *xs), dtype=np.float64)
    level = noise(_magnitude(op, position, u, xs), np.float64(0.5))
    return Estimate(numeric, level, np.zeros(numeric.shape, dtype=bool))


def affine_pull_back(op: Op, position: int, m: Estimate, xs: Sequence[Array]) -> Estimate:
    """dL/dx from dL/d(op output) when the op is affine in x: the estimate pulled back by Tᵀ."""
    assert op.adjoint is not None
    with np.errstate(all="ignore"):
        numeric = np.asarray(op.adjoint(position, m.numeric, *xs), dtype=np.float64)
    level = _propagated(op, position, m.noise, xs)
    kinks = _magnitude(op, position, m.kinks.astype(np.float64), xs) > 0 if m.kinks.any() else None
    return Estimate(numeric, level, np.zeros(numeric.shape, dtype=bool) if kinks is None else kinks)


# ---------------------------------------------------------------- elementwise ops: column grouping
@dataclass
class GroupedRuns:
    """The op run with a whole input moved by +eps, then by -eps (output-shaped, float64)."""

    plus: Array
    minus: Array
    step: Array
    """The true half step per input element, shaped like the input."""
    straddled: Array
    """Per output element: did the two runs fall on different sides of a kink?"""

    @property
    def jacobian(self) -> Array:
        """d out / d x per output element (each depends on one element of x)."""
        with np.errstate(all="ignore"):
            return (self.plus - self.minus) / (2 * self.step)


def grouped_runs(op: Op, position: int, xs: Sequence[Array], out: Array, eps: float) -> GroupedRuns:
    """Two runs of an elementwise op, the input at ``position`` moved by ±eps everywhere at once."""
    x = xs[position]
    h = x.dtype.type(eps)
    batch = np.stack([x + h, x - h])
    flags = [i == position for i in range(len(xs))]
    batched = [batch if f else v for v, f in zip(xs, flags, strict=True)]
    with np.errstate(all="ignore"):
        runs = as_batch(op.run_batched(batched, flags), out, 2).astype(np.float64)
        if op.kink is not None:
            kink = np.broadcast_to(op.kink_batched(batched, flags), (2,) + out.shape)
            straddled = sign_changed(kink[0], kink[1])
        else:
            straddled = np.zeros(out.shape, dtype=bool)
    step = half_step(x, slice(None), eps).reshape(x.shape)
    return GroupedRuns(runs[0], runs[1], np.broadcast_to(step, out.shape), straddled)


def grouped_local(
    op: Op, position: int, u: Array, xs: Sequence[Array], out: Array, eps: float, noise: Noise
) -> Estimate:
    """Numeric d⟨u, op(x)⟩/dx_position for an elementwise op, every element from two runs."""
    shape = xs[position].shape
    runs = grouped_runs(op, position, xs, out, eps)
    step = half_step(xs[position], slice(None), eps).reshape(shape)
    with np.errstate(all="ignore"):
        numeric = unbroadcast(u * (runs.plus - runs.minus) / (2 * runs.step), shape)
        # Every output depends on the element it comes from, moved or not: an output whose change
        # fell below its last bit (tanh near 1 in float32) carries round-off all the same.
        magnitude = np.abs(runs.plus) + np.abs(runs.minus)
        level = noise(unbroadcast(np.abs(u) * magnitude, shape), step)
    kinks = unbroadcast(runs.straddled.astype(np.float64), shape) > 0
    return Estimate(np.asarray(numeric, dtype=np.float64), level, kinks)


def grouped_pull_back(
    op: Op, position: int, m: Estimate, xs: Sequence[Array], out: Array, eps: float, noise: Noise
) -> Estimate:
    """dL/dx from dL/d(op output) through an elementwise op: its numeric diagonal times m."""
    shape = xs[position].shape
    runs = grouped_runs(op, position, xs, out, eps)
    jac = runs.jacobian
    with np.errstate(all="ignore"):
        numeric = unbroadcast(m.numeric * jac, shape)
        jac_noise = noise(np.abs(runs.plus) + np.abs(runs.minus), runs.step)
        level = unbroadcast(np.abs(jac) * m.noise + np.abs(m.numeric) * jac_noise, shape)
    kinks = unbroadcast(((m.kinks & (jac != 0)) | runs.straddled).astype(np.float64), shape) > 0
    return Estimate(np.asarray(numeric, dtype=np.float64), level, kinks)
