"""A large tensor's local check by random projections, and the wrong elements found by halving.

For an op that is neither affine nor elementwise (softmax, a loss, the author's own op or layer)
probing every element of a large input costs one run of the op per element. Its backward can be
verified for the whole tensor at once (torch's ``gradcheck(fast_mode=True)`` does the same): for
a random direction v, central differences give d⟨u, op(x + t·v)⟩/dt, and the backward must give
the same ⟨contribution, v⟩. A few directions (``DIRECTIONS``) are checked in one batch.

When a direction disagrees, the wrong elements are found by group testing: the direction is
restricted to each half of the failing index sets, and halves that still disagree are halved
again, down to ``LEAF`` elements, which are probed one by one as usual. So a wrong element is
still listed (and highlighted) at a cost that grows with the number of wrong elements, not with
the tensor. A projection sums every element's error, so it is weaker than the element-by-element
check: an element off by less than the whole tensor's tolerance can pass. Outputs say which
method verified what (README, "How the check works"); ``--exhaustive`` asks for every element.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

import numpy as np

from tui_backprop.check.probing import as_batch
from tui_backprop.check.verdict import COVERED, UNCHECKED, Comparison, Tolerances, compare
from tui_backprop.core.graph import Node

Array = np.ndarray
DIRECTIONS = 4
LEAF = 64
"""Index sets this small are probed element by element."""
BUDGET = 1 << 20
"""Most elements one batch of perturbed inputs may hold."""

ProbeElements = Callable[[Array], tuple[Array, Array, Array]]
"""flat indices -> (numeric, noise, kink) per element: the ordinary one-by-one probe."""
Differences = Callable[[Array, Array], tuple[Array, Array]]
"""(rows of x + h·v, rows of x - h·v), flat and in x's dtype -> per row F(plus) - F(minus), and
the magnitude of the values whose round-off that difference carries."""


@dataclasses.dataclass
class _Tester:
    """F(x ± eps·v) for many directions v at once, against the backward's ⟨a, v⟩."""

    x: Array
    analytic: Array
    eps: float
    settings: Tolerances
    differences: Differences
    unit: float

    def failing(self, directions: Array) -> tuple[Array, Array]:
        """Per direction (rows, flat like x): does it disagree, and its relative error?"""
        fails, errors = [], []
        rows = max(1, BUDGET // max(1, 2 * self.x.size))
        for start in range(0, len(directions), rows):
            f, e = self._test(directions[start : start + rows])
            fails.append(f)
            errors.append(e)
        return np.concatenate(fails), np.concatenate(errors)

    def _test(self, v: Array) -> tuple[Array, Array]:
        flat = self.x.reshape(-1).astype(np.float64)
        plus = (flat + self.eps * v).astype(self.x.dtype)
        minus = (flat - self.eps * v).astype(self.x.dtype)
        delta = plus.astype(np.float64) - minus.astype(np.float64)  # the true step, after rounding
        with np.errstate(all="ignore"):
            numeric, magnitude = self.differences(plus, minus)
            analytic = delta @ self.analytic
            noise = self.unit * magnitude
            tolerance = (
                np.abs(delta) @ (self.settings.atol + self.settings.rtol * np.abs(self.analytic)) + noise
            )
            error = np.abs(numeric - analytic)
            fails = ~(error <= tolerance)  # NaN fails too: looked at element by element
            scale = np.maximum(np.abs(numeric), np.abs(analytic))
            relative = np.where(scale > 0, error / scale, 0.0)
        return fails, relative


def local_differences(node: Node, xs: Sequence[Array], position: int, u: Array, out: Array) -> Differences:
    """⟨u, op(x)⟩ for the op alone, x its input ``position`` (the local check)."""
    op = node.op
    assert op is not None
    flags = [i == position for i in range(len(xs))]
    shape = xs[position].shape

    def differences(plus: Array, minus: Array) -> tuple[Array, Array]:
        count = len(plus)
        batch = np.concatenate([plus, minus]).reshape((2 * count,) + shape)
        batched = [batch if f else value for value, f in zip(xs, flags, strict=True)]
        with np.errstate(all="ignore"):
            runs = as_batch(op.run_batched(batched, flags), out, 2 * count).reshape(2 * count, -1)
            runs = runs.astype(np.float64)
            up, down = runs[:count], runs[count:]
            moved = (np.abs(up) + np.abs(down)) * (up != down)
            return (up - down) @ u, moved @ np.abs(u)

    return differences


def global_differences(
    values: dict[str, Array], node: Node, plan: Sequence[Node], output: Node
) -> Differences:
    """The loss, re-run downstream of ``node`` with every op's batched forward (the global check)."""
    shape = values[node.name].shape

    def differences(plus: Array, minus: Array) -> tuple[Array, Array]:
        count = len(plus)
        batches = {node.name: np.concatenate([plus, minus]).reshape((2 * count,) + shape)}
        readers = {m.name: sum(1 for n in plan for p in n.inputs if p.name == m.name) for m in plan}
        for m in plan:
            assert m.op is not None
            flags = [p.name in batches for p in m.inputs]
            xs = [batches[p.name] if f else values[p.name] for p, f in zip(m.inputs, flags, strict=True)]
            with np.errstate(all="ignore"):
                batches[m.name] = as_batch(m.op.run_batched(xs, flags), values[m.name], 2 * count)
            for p in m.inputs:  # release what no op still to run reads
                if p.name in readers:
                    readers[p.name] -= 1
                    if readers[p.name] == 0 and p.name != output.name:
                        batches.pop(p.name, None)
        loss = batches[output.name].reshape(2 * count).astype(np.float64)
        up, down = loss[:count], loss[count:]
        return up - down, np.abs(up) + np.abs(down)

    return differences


def projected(
    x: Array,
    analytic: Array,
    differences: Differences,
    key: Sequence[int],
    settings: Tolerances,
    eps: float,
    probe_elements: ProbeElements,
    refine: Callable[[Comparison], Comparison] = lambda c: c,
) -> Comparison:
    """``analytic`` (a gradient shaped like x) verified along ``DIRECTIONS`` random directions of
    the scalar ``differences`` measures; elements of index sets that disagree are found by halving
    and probed one by one (``refine``: a second look at those)."""
    rng = np.random.default_rng(list(key))
    a = np.asarray(analytic, dtype=np.float64).reshape(-1)
    tester = _Tester(x, a, eps, settings, differences, 8.0 * float(np.finfo(x.dtype).eps))
    weights = rng.choice([-1.0, 1.0], size=x.size) * rng.uniform(0.5, 1.0, size=(DIRECTIONS, x.size))
    fails, _ = tester.failing(weights)
    suspects = [np.arange(x.size)] if fails.any() else []
    direction = weights[int(np.argmax(fails))] if fails.any() else weights[0]
    leaves: list[Array] = []
    while suspects:
        halves = []
        for group in suspects:
            if len(group) <= LEAF:
                leaves.append(group)
            else:
                middle = len(group) // 2
                halves += [group[:middle], group[middle:]]
        if not halves:
            break
        rows = np.zeros((len(halves), x.size))
        for row, group in zip(rows, halves, strict=True):
            row[group] = direction[group]
        failing, _ = tester.failing(rows)
        suspects = [group for group, bad in zip(halves, failing, strict=True) if bad]
    probed = np.concatenate(leaves) if leaves else np.zeros(0, dtype=int)
    return _judged(analytic, x.shape, probed, probe_elements, settings, refine)


def projected_local(
    node: Node,
    xs: Sequence[Array],
    position: int,
    u: Array,
    out: Array,
    contribution: Array,
    settings: Tolerances,
    eps: float,
    seed: int,
    probe_elements: ProbeElements,
    refine: Callable[[Comparison], Comparison] = lambda c: c,
) -> Comparison:
    """The local check of input ``position`` by projections (see ``projected``)."""
    differences = local_differences(node, xs, position, u, out)
    key = (seed, node.index, position)
    return projected(xs[position], contribution, differences, key, settings, eps, probe_elements, refine)


def _judged(
    contribution: Array,
    shape: tuple[int, ...],
    probed: Array,
    probe_elements: ProbeElements,
    settings: Tolerances,
    refine: Callable[[Comparison], Comparison],
) -> Comparison:
    """Per element where probed one by one (``refine``: a second look at those); elsewhere
    covered: verified by the projections, with no numeric value of its own."""
    size = int(np.prod(shape, dtype=int))
    numeric = np.full(size, np.nan)
    noise = np.zeros(size)
    kinks = np.zeros(size, dtype=bool)
    sampled = np.zeros(size, dtype=bool)
    if probed.size:
        numeric[probed], noise[probed], kinks[probed] = probe_elements(probed)
        sampled[probed] = True
    c = compare(
        contribution,
        numeric.reshape(shape),
        noise.reshape(shape),
        kinks.reshape(shape),
        settings,
        sampled=sampled.reshape(shape),
    )
    c = refine(c)
    codes = c.codes.copy()
    codes[(~sampled.reshape(shape)) & (codes == UNCHECKED)] = COVERED
    status = c.status
    if status == "unchecked" and not c.n_unjudged:
        status = "ok"  # nothing probed one by one, nothing left unjudged: the projections passed
    return dataclasses.replace(c, codes=codes, status=status, method="projection", directions=DIRECTIONS)
