"""Exact per-element derivatives of an op whose Jacobian is sparse, in as many runs as colours.

An op that is not affine and not elementwise (the author's own op or layer, softmax, a conv) can
still have a sparse Jacobian: each output element depends on a few input elements (row-wise
softmax: its row; conv1d: a band; a layer's bias: one element per output row). Then columns that
share no output can be moved together: moving a whole *colour* (a set of such columns) by ±eps
gives every column's derivative at once (Curtis, Powell and Reid's column grouping). The number
of runs is twice the number of colours, whatever the size (README, "How the check works").

**Sparsity from NaNs.** Which outputs an input element reaches is found by sending NaN through
it: the outputs that turn NaN are those it reaches. A candidate colouring (the input's index
modulo m along one axis: 1 colour, then 2, 4, 8, ... along each axis) is verified colour by colour
with binary codes: for every bit b of a column's position within its colour, one run with NaN at
the columns whose bit is 1 and one at those whose bit is 0. An output reached by exactly one
column turns NaN in exactly one run of each pair, and the pattern spells that column; an output
NaN in both runs of a pair is reached by two columns of one colour, and the candidate is refused.
So a colour of k columns costs 2·⌈log2 k⌉ runs, an elementwise op over 10^6 elements 40.

Two guards keep it honest: an op that raises on NaN, or a colouring that needs more than
``MAX_RUNS`` runs, is not coloured (projection or direct probes take over); and an output that
moves under ±eps but was reached by no column of that colour (a ``np.where`` that swallows NaN)
refuses the estimate, so a dependence the NaNs missed cannot make a wrong numeric value.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from tui_backprop.check import budget
from tui_backprop.check.probing import Estimate, Noise, as_batch, half_step, sign_changed
from tui_backprop.core.graph import Node
from tui_backprop.core.ops import Op, ProbeError

Array = np.ndarray
MAX_RUNS = 512
"""Most runs of the op a colouring may cost (the NaN runs that verify it and its ±eps runs)."""


@dataclass(frozen=True)
class Colouring:
    """Columns (input elements, flat) grouped so that no two of a colour reach the same output."""

    colours: Array
    """Per input element: its colour."""
    sources: Array
    """(colours, output elements): the input element of that colour each output reads, or -1."""

    @property
    def count(self) -> int:
        return len(self.sources)


Found = dict[tuple[str, int], "Colouring | None"]
"""Colourings found per (op node, input position), None where there is none: the local check
finds them, the global check's pull-back through the same op reuses them."""


def cached(
    found: Found, node: Node, xs: Sequence[Array], position: int, out: Array, max_runs: int | None = None
) -> Colouring | None:
    """``find``, once per node and input. A search held below ``MAX_RUNS`` that finds nothing is
    not kept: a later one with the full budget may still find a colouring."""
    key = (node.name, position)
    if key in found:
        return found[key]
    assert node.op is not None
    colouring = find(node.op, xs, position, out, max_runs)
    if colouring is not None or max_runs is None or max_runs >= MAX_RUNS:
        found[key] = colouring
    return colouring


def _bits(k: int) -> int:
    return math.ceil(math.log2(k)) if k > 1 else 0


def candidates(shape: tuple[int, ...]) -> Iterator[tuple[int, ...]]:
    """Moduli per axis, fewest colours first: one colour, then 2, 4, 8, ... along one axis (up to
    its length: every index of it apart)."""
    yield (1,) * len(shape)
    seen: set[tuple[int, ...]] = set()
    c = 2
    while c < 2 * max(shape, default=1):
        for axis in reversed(range(len(shape))):
            moduli = [1] * len(shape)
            moduli[axis] = min(c, shape[axis])
            key = tuple(moduli)
            if key not in seen and math.prod(key) > 1:
                seen.add(key)
                yield key
        c *= 2


def runs_needed(sizes: Array) -> int:
    """NaN runs to verify colours of these sizes, and the ±eps runs of the estimate."""
    return sum(2 * _bits(int(k)) if k > 1 else 1 for k in sizes) + 2 * len(sizes)


def find(
    op: Op, xs: Sequence[Array], position: int, out: Array, max_runs: int | None = None
) -> Colouring | None:
    """A verified colouring of the op's input ``position``, or None when none fits ``max_runs``
    (a dense Jacobian) or the op cannot be run on NaNs."""
    max_runs = MAX_RUNS if max_runs is None else max_runs
    x = xs[position]
    if x.size < 2 or out.size == 0 or not np.all(np.isfinite(out)) or x.dtype.kind != "f":
        return None
    fewest = _fewest_colours(op, xs, position, out)
    if fewest is None or 2 * fewest > max_runs:
        return None
    shape = x.shape
    index = np.unravel_index(np.arange(x.size), shape)
    for moduli in candidates(shape):
        if math.prod(moduli) < fewest:
            continue
        colours = np.ravel_multi_index(tuple(i % m for i, m in zip(index, moduli, strict=True)), moduli)
        sizes = np.bincount(colours, minlength=math.prod(moduli))
        if runs_needed(sizes) > max_runs:
            break
        sources = _verified(op, xs, position, out, colours, sizes)
        if sources is not None:
            return Colouring(colours, sources)
    return None


SAMPLED = 4
"""Columns whose reach is measured first, to skip colourings too small to work."""


def _fewest_colours(op: Op, xs: Sequence[Array], position: int, out: Array) -> int | None:
    """A lower bound on the colours needed, from the reach of a few columns: N columns that each
    reach r outputs put N·r entries into O outputs, so some output reads N·r/O columns, and so
    many colours at least (r the least reach sampled). None: the op cannot be run on NaNs."""
    size = xs[position].size
    columns = np.unique(np.linspace(0, size - 1, SAMPLED).astype(int))
    nan = _nan_runs(op, xs, position, out, [np.array([c]) for c in columns])
    if nan is None:
        return None
    least = int(nan.sum(axis=1).min())
    return max(1, math.ceil(size * least / out.size))


def _verified(
    op: Op, xs: Sequence[Array], position: int, out: Array, colours: Array, sizes: Array
) -> Array | None:
    """Per colour and output, the one column that reaches it (-1: none); None on a conflict."""
    x = xs[position]
    kind = np.int32 if x.size < 2**31 else np.int64
    sources = np.full((len(sizes), out.size), -1, dtype=kind)
    order = np.argsort(colours, kind="stable")
    starts = np.concatenate([[0], np.cumsum(sizes)])
    for colour in range(len(sizes)):
        members = order[starts[colour] : starts[colour + 1]]
        k = len(members)
        bits = _bits(k)
        sets = [members] if bits == 0 else []
        for bit in range(bits):
            one = ((np.arange(k) >> bit) & 1).astype(bool)
            sets += [members[one], members[~one]]
        reached = np.zeros(out.size, dtype=bool)
        code = np.zeros(out.size, dtype=np.int64)
        for first in range(0, len(sets), 2):
            pair = sets[first : first + 2]
            nan = _nan_runs(op, xs, position, out, pair)
            if nan is None:
                return None
            if len(pair) == 1:
                reached |= nan[0]
                continue
            if np.any(nan[0] & nan[1]):
                return None  # two columns of this colour reach one output
            code |= nan[0].astype(np.int64) << (first // 2)
            reached |= nan[0] | nan[1]
        sources[colour, reached] = members[code[reached]]
    return sources


def _nan_runs(op: Op, xs: Sequence[Array], position: int, out: Array, sets: list[Array]) -> Array | None:
    """Per set of columns: which outputs turn NaN with NaN sent through them (None: the op raised).
    As many sets per batch as the batch budget allows (each is a copy of the input)."""
    x = xs[position]
    flags = [i == position for i in range(len(xs))]
    reached = np.zeros((len(sets), out.size), dtype=bool)
    for chunk in budget.chunks(np.arange(len(sets)), x.size + out.size):
        batch = np.repeat(x.reshape(1, -1), len(chunk), axis=0)
        for row, index in enumerate(chunk):
            batch[row, sets[index]] = np.nan
        shape = (len(chunk),) + x.shape
        batched = [batch.reshape(shape) if f else v for v, f in zip(xs, flags, strict=True)]
        try:
            with np.errstate(all="ignore"):
                runs = as_batch(op.run_batched(batched, flags), out, len(chunk))
        except (ProbeError, ValueError, TypeError, FloatingPointError):
            return None
        reached[chunk] = np.isnan(runs.reshape(len(chunk), -1))
    return reached


def _moved_runs(
    op: Op, xs: Sequence[Array], position: int, out: Array, colouring: Colouring, eps: float
) -> Iterator[tuple[int, Array, Array, Array]]:
    """Per colour: the op run with that colour's columns moved by +eps and by -eps (flat, float64),
    and per output whether the two runs fell on two sides of a kink."""
    x = xs[position]
    flags = [i == position for i in range(len(xs))]
    h = x.dtype.type(eps)
    per_colour = 2 * (x.size + out.size)
    for chunk in budget.chunks(np.arange(colouring.count), per_colour):
        count = len(chunk)
        batch = np.repeat(x.reshape(1, -1), 2 * count, axis=0)
        for row, colour in enumerate(chunk):
            columns = colouring.colours == colour
            batch[row, columns] += h
            batch[row + count, columns] -= h
        batched = [batch.reshape((2 * count,) + x.shape) if f else v for v, f in zip(xs, flags, strict=True)]
        with np.errstate(all="ignore"):
            runs = as_batch(op.run_batched(batched, flags), out, 2 * count).reshape(2 * count, -1)
            runs = runs.astype(np.float64)
            if op.kink is not None:
                kink = op.kink_batched(batched, flags)
                kink = np.broadcast_to(kink, (2 * count,) + out.shape).reshape(2 * count, -1)
                straddled = sign_changed(kink[:count], kink[count:])
            else:
                straddled = np.zeros((count, out.size), dtype=bool)
        for row, colour in enumerate(chunk):
            yield int(colour), runs[row], runs[row + count], straddled[row]


class MissedDependenceError(Exception):
    """An output moved under ±eps that the NaNs said no column of that colour reaches."""


def _per_column(
    op: Op, xs: Sequence[Array], position: int, out: Array, colouring: Colouring, eps: float
) -> Iterator[tuple[Array, Array, Array, Array, Array]]:
    """Per colour, over the outputs it reaches: (which outputs, the column each reads, d out /
    d column, |F(+)| + |F(-)|, straddled). Raises MissedDependenceError (see the module)."""
    step = half_step(xs[position], slice(None), eps).reshape(-1)
    for colour, plus, minus, straddled in _moved_runs(op, xs, position, out, colouring, eps):
        source = colouring.sources[colour]
        reached = source >= 0
        if np.any((plus != minus) & ~reached):
            raise MissedDependenceError
        s = source[reached]
        with np.errstate(all="ignore"):
            jac = (plus[reached] - minus[reached]) / (2 * step[s])
        yield reached, s, jac, np.abs(plus[reached]) + np.abs(minus[reached]), straddled[reached]


def local_estimate(
    op: Op,
    xs: Sequence[Array],
    position: int,
    u: Array,
    out: Array,
    colouring: Colouring,
    eps: float,
    noise: Noise,
) -> Estimate | None:
    """Numeric d⟨u, op(x)⟩/dx for every element of input ``position`` (None: a missed dependence)."""
    size = xs[position].size
    numeric, magnitude, kinks = np.zeros(size), np.zeros(size), np.zeros(size, dtype=bool)
    weight = np.asarray(u, dtype=np.float64).reshape(-1)
    try:
        for reached, s, jac, moved, straddled in _per_column(op, xs, position, out, colouring, eps):
            w = weight[reached]
            with np.errstate(all="ignore"):
                numeric += np.bincount(s, weights=w * jac, minlength=size)
                magnitude += np.bincount(s, weights=np.abs(w) * moved, minlength=size)
            kinks[s[straddled]] = True
    except MissedDependenceError:
        return None
    step = half_step(xs[position], slice(None), eps)
    shape = xs[position].shape
    level = noise(magnitude, step).reshape(shape)
    return Estimate(numeric.reshape(shape), level, kinks.reshape(shape))


def pull_back(
    op: Op,
    xs: Sequence[Array],
    position: int,
    m: Estimate,
    out: Array,
    colouring: Colouring,
    eps: float,
    noise: Noise,
) -> Estimate | None:
    """dL/dx from dL/d(op output) through the op's numeric Jacobian, column by colour (None: a
    missed dependence)."""
    size = xs[position].size
    numeric, level, kinks = np.zeros(size), np.zeros(size), np.zeros(size, dtype=bool)
    mn, ml, mk = (np.asarray(v).reshape(-1) for v in (m.numeric, m.noise, m.kinks))
    step = half_step(xs[position], slice(None), eps).reshape(-1)
    try:
        for reached, s, jac, moved, straddled in _per_column(op, xs, position, out, colouring, eps):
            with np.errstate(all="ignore"):
                numeric += np.bincount(s, weights=mn[reached] * jac, minlength=size)
                jac_noise = noise(moved, step[s])
                carried = np.abs(jac) * ml[reached] + np.abs(mn[reached]) * jac_noise
                level += np.bincount(s, weights=carried, minlength=size)
            kinks[s[(mk[reached] & (jac != 0)) | straddled]] = True
    except MissedDependenceError:
        return None
    shape = xs[position].shape
    return Estimate(numeric.reshape(shape), level.reshape(shape), kinks.reshape(shape))
