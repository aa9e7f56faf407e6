"""A large tensor's check by random projections, and the wrong elements found by halving.

For an op that is neither affine nor elementwise (softmax, a loss, the author's own op or layer)
probing every element of a large input costs one run of the op per element. Its backward can be
verified for the whole tensor at once (torch's ``gradcheck(fast_mode=True)`` does the same): for
a random direction v, the difference D(t) = F(x + t·v) - F(x - t·v) must equal ⟨contribution,
δ(t)⟩, δ(t) the true step after rounding to the dtype.

**Tolerance from the noise of the estimate.** D at t = h and 2h gives two residuals R(t) = D(t) -
⟨a, δ(t)⟩; their Richardson combination E = (8·R(h) - R(2h))/6 cancels the truncation error (the
t³ term), leaving ⟨a - g, δ(h)⟩ (g the true gradient) plus round-off. A direction fails when
|E| exceeds that round-off alone: NOISE_FACTOR · machine eps · M, M the magnitude D's terms carry
(root-sum-square over an elementwise op's outputs, whose rounding errors are independent; plus
|F(x±t·v)| for a coupled op, whose shared intermediates err together). No rtol, no sum of
per-element tolerances: the tolerance does not grow with the tensor.

**The bound** (README, "How the check works"). With v_k = ±w_k, random signs and w_k uniform in
[0.5, 1], one element off by e moves E by |δ_k(h)|·e ≥ h·e in every direction: above B = tol /
min_k |δ_k(h)| it is found with certainty. Among other wrong elements (whatever they are), the
chance that one direction misses an element off by e is at most 2B/e (w_k must fall in an interval
of length 2·tol/(|δ_k| e) where its density is 2); above ``BOUND_FACTOR`` · B, at most 1/8. Each
index set is tested along every direction, at the top and at each halving, so the element is
missed with probability at most (levels) · 8^-D; ``directions_for`` picks the least D that makes
that ≤ 1e-3 (99.9 %). ``Comparison.bound`` is BOUND_FACTOR · B.

When a direction disagrees, the wrong elements are found by group testing: each failing index
set is halved and each half tested along every direction, down to ``LEAF`` elements, which are
probed one by one as usual (a failing direction never blames by itself: only the element probes
judge). So a wrong element is listed and highlighted at a cost that grows with the number of
wrong elements, not with the tensor. Outputs say which method verified what; elements verified
only here are *covered*, not compared; ``--exhaustive`` asks for every element.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np

from tui_backprop.check import budget
from tui_backprop.check.batchprobe import plan_modes, probe_downstream, run_downstream
from tui_backprop.check.direct import probe_local
from tui_backprop.check.jobs import GlobalJob, LocalJob
from tui_backprop.check.probing import as_batch, straddles
from tui_backprop.check.settings import CheckSettings
from tui_backprop.check.verdict import COVERED, NOISE_FACTOR, UNCHECKED, Comparison, compare
from tui_backprop.core.graph import Node

Array = np.ndarray
LEAF = 64
"""Index sets this small are probed element by element."""
BOUND_FACTOR = 16.0
"""The stated bound, in units of the error every direction sees for certain (see above)."""
MISS = 1e-3
"""At most this chance that an element off by more than the bound is missed (99.9 %)."""

ProbeElements = Callable[[Array], tuple[Array, Array, Array]]
"""flat indices -> (numeric, noise, kink) per element: the ordinary one-by-one probe."""
Differences = Callable[[Array, Array], tuple[Array, Array, Array]]
"""(rows of x + t·v, rows of x - t·v), flat and in x's dtype -> per row F(plus) - F(minus), the
magnitude M of the values whose round-off that difference carries, and whether the two runs fell
on two sides of some op's kink (relu at 0): there D measures the corner, not a derivative."""
SHRINK = 10.0
RETRIES = 3
"""A direction whose step straddles a kink is tried again with the step this many times smaller
(up to RETRIES times); the directions after it start at the step that cleared it."""


def directions_for(size: int) -> int:
    """The least number of directions D with levels · 8^-D ≤ MISS (see the module docstring)."""
    levels = 1 + max(0, math.ceil(math.log2(max(size, 1) / LEAF)))
    return max(1, math.ceil(math.log(levels / MISS) / math.log(1.0 / (2.0 / BOUND_FACTOR))))


def random_directions(rng: np.random.Generator, count: int, size: int) -> Array:
    """Rows v = ±w, an independent random sign and a weight uniform in [0.5, 1] per entry."""
    u = rng.random((count, size), dtype=np.float32)
    u -= np.float32(0.5)  # [-1/2, 1/2): its sign is the direction's, exact in float32
    u += np.copysign(np.float32(0.5), u)  # then ±[1/2, 1): four times faster than ``where=``
    return u


def _generated(key: Sequence[int], count: int, size: int, rows: int) -> Iterator[Array]:
    """The directions ``random_directions`` makes from the seed ``key``, ``rows`` at a time (the
    same stream): all at once they would be the largest array of a 1M-element tensor's check."""
    rng = np.random.default_rng(list(key))
    for start in range(0, count, rows):
        yield random_directions(rng, min(rows, count - start), size)


@dataclasses.dataclass
class _Tester:
    """Per direction v: the Richardson residual E against its round-off tolerance."""

    x: Array
    analytic: Array
    eps: float
    differences: Differences
    unit: float

    @property
    def rows(self) -> int:
        """Directions tested per batch (each builds two rows of x: x + t·v and x - t·v)."""
        return max(1, budget.BATCH_BUDGET // max(1, 2 * self.x.size))

    def failing(self, blocks: Iterable[Array]) -> tuple[Array, Array]:
        """Per direction (blocks of ``rows`` rows, flat like x): does it disagree, and the error of
        one element it is sure to see (tolerance / the smallest true step of an element it
        moves). A direction whose step straddles a kink is tried with smaller steps; still
        straddling, it fails (its elements are then probed one by one, where a kink is told from
        a bug)."""
        fails, bounds = [], []
        first = 0  # the retry that cleared the kinks last time: where the next chunk starts
        for v in blocks:
            fail, bound, kinked = self._test(v, SHRINK**-first)
            for retry in range(first + 1, RETRIES + 1):
                if not kinked.any():
                    break
                again = np.flatnonzero(kinked)
                f, b, k = self._test(v[again], SHRINK**-retry)
                fail[again], bound[again], kinked[again] = f, b, k
                first = retry if not k.any() else first
            fails.append(fail | kinked)
            bounds.append(bound)
        return np.concatenate(fails), np.concatenate(bounds)

    def __post_init__(self) -> None:
        self.flat = np.asarray(self.x.reshape(-1), dtype=np.float64)

    def _test(self, v: Array, scale: float) -> tuple[Array, Array, Array]:
        h = scale * self.eps
        residual, noise, least, kinked = self._measured(v, h)
        residual_2h, noise_2h, _, kinked_2h = self._measured(v, 2 * h)
        with np.errstate(all="ignore"):
            error = (8 * residual - residual_2h) / 6
            tolerance = (8 * noise + noise_2h) / 6
            fails = ~(np.abs(error) <= tolerance)  # NaN fails too: looked at element by element
            bound = tolerance / least
        return fails, bound, kinked | kinked_2h

    def _measured(self, v: Array, t: float) -> tuple[Array, Array, Array, Array]:
        """Per direction, at step t: the residual D(t) - ⟨a, δ(t)⟩, its round-off, the least true
        step of an element it moves, and whether the two runs fell on two sides of a kink. One
        step size at a time, and the true steps δ reduced a slice at a time: the rows of x built
        here are the check's largest arrays."""
        count = len(v)
        moved = np.empty((2 * count, self.x.size), dtype=self.x.dtype)  # x + t·v, then x - t·v
        for rows, sign in ((moved[:count], np.add), (moved[count:], np.subtract)):
            np.multiply(v, t, out=rows, casting="unsafe")  # t·v (in v's float32), in place
            sign(self.flat, rows, out=rows, casting="unsafe")  # x ± t·v in float64, then rounded
        along, across, least = self._steps(moved, v)  # (before the op sees the rows)
        with np.errstate(all="ignore"):
            numeric, magnitude, kinked = self.differences(moved[:count], moved[count:])
            del moved
            residual = numeric - along
            noise = self.unit * magnitude + _EPS64 * across
        return residual, noise, least, kinked

    def _steps(self, moved: Array, v: Array) -> tuple[Array, Array, Array]:
        """With δ the true steps (after rounding) of the rows x ± t·v: per row ⟨a, δ⟩, Σ|a|·|δ|
        and the least |δ_k| of an element the direction moves."""
        count = len(v)
        along, across = np.zeros(count), np.zeros(count)
        least = np.full(count, np.inf)
        for start in range(0, self.x.size, _SLICE):
            part = slice(start, start + _SLICE)
            delta = moved[:count, part].astype(np.float64)
            delta -= moved[count:, part]
            with np.errstate(all="ignore"):
                terms = delta * self.analytic[part]  # (no BLAS: a call per slice costs more than it saves)
                along += terms.sum(axis=1)
                np.abs(terms, out=terms)
                across += terms.sum(axis=1)
                np.abs(delta, out=delta)
                least = np.minimum(least, np.min(delta, axis=1, where=v[:, part] != 0, initial=np.inf))
        return along, across, least


_SLICE = 1 << 16
"""Elements of a row reduced at a time (``_Tester._steps``)."""
_EPS64 = NOISE_FACTOR * float(np.finfo(np.float64).eps)


def _stacked(plus: Array, minus: Array) -> Array:
    """plus then minus as one batch: no copy when they are the two halves of one array."""
    whole = plus.base
    if (
        isinstance(whole, np.ndarray)
        and whole is minus.base
        and whole.shape == (2 * len(plus),) + plus.shape[1:]
        and whole[: len(plus)].ctypes.data == plus.ctypes.data
        and whole[len(plus) :].ctypes.data == minus.ctypes.data
    ):
        return whole
    return np.concatenate([plus, minus])


def local_differences(node: Node, xs: Sequence[Array], position: int, u: Array, out: Array) -> Differences:
    """⟨u, op(x)⟩ for the op alone, x its input ``position`` (the local check). Its round-off: the
    outputs' own, root-sum-square (independent roundings), and for a coupled op also |F| (a shared
    intermediate, softmax's sum, errs for every output alike)."""
    op = node.op
    assert op is not None
    flags = [i == position for i in range(len(xs))]
    shape = xs[position].shape
    coupled = not (op.elementwise or op.diagonal)
    weight = np.abs(u)

    def differences(plus: Array, minus: Array) -> tuple[Array, Array]:
        count = len(plus)
        batch = _stacked(plus, minus).reshape((2 * count,) + shape)
        batched = [batch if f else value for value, f in zip(xs, flags, strict=True)]
        with np.errstate(all="ignore"):
            runs = as_batch(op.run_batched(batched, flags), out, 2 * count).reshape(2 * count, -1)
            runs = runs.astype(np.float64)
            up, down = runs[:count], runs[count:]
            terms = (np.abs(up) + np.abs(down)) * weight
            magnitude = np.sqrt(np.einsum("ij,ij->i", terms, terms))
            if coupled:
                magnitude += np.abs(up @ u) + np.abs(down @ u)
            kinked = np.zeros(count, dtype=bool)
            if op.kink is not None:
                kinked = straddles(op.kink_batched(batched, flags), count)
            return (up - down) @ u, magnitude, kinked

    return differences


def global_differences(
    values: dict[str, Array], node: Node, plan: Sequence[Node], output: Node
) -> Differences:
    """The loss, re-run downstream of ``node`` (the global check; batchprobe.run_downstream)."""
    shape = values[node.name].shape

    def differences(plus: Array, minus: Array) -> tuple[Array, Array, Array]:
        count = len(plus)
        batch = _stacked(plus, minus).reshape((2 * count,) + shape)
        loss, kinked = run_downstream(values, node, list(plan), output, batch, pairs=True)
        up, down = loss[:count], loss[count:]
        return up - down, np.abs(up) + np.abs(down), kinked

    return differences


def projected(
    x: Array,
    analytic: Array,
    differences: Differences,
    key: Sequence[int],
    settings: CheckSettings,
    eps: float,
    probe_elements: ProbeElements,
    refine: Callable[[Comparison], Comparison] = lambda c: c,
) -> Comparison:
    """``analytic`` (a gradient shaped like x) verified along ``directions_for(x.size)`` random
    directions of the scalar ``differences`` measures; index sets that disagree are halved, each
    half tested along every direction, down to elements probed one by one (``refine``: a second
    look at those). Elements never probed are *covered*."""
    a = np.asarray(analytic, dtype=np.float64).reshape(-1)
    tester = _Tester(x, a, eps, differences, NOISE_FACTOR * float(np.finfo(x.dtype).eps))
    count = directions_for(x.size)
    fails, certain = tester.failing(_generated(key, count, x.size, tester.rows))
    bound = BOUND_FACTOR * float(np.max(certain)) if certain.size else 0.0
    suspects = [np.arange(x.size)] if fails.any() else []
    directions = None  # made again, all at once, only when some index set failed
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
        if directions is None:
            directions = random_directions(np.random.default_rng(list(key)), count, x.size)
        failing = np.zeros(len(halves), dtype=bool)
        per_chunk = max(1, budget.BATCH_BUDGET // max(1, count * x.size))
        for start in range(0, len(halves), per_chunk):  # memory: a few rows of x at a time
            chunk = halves[start : start + per_chunk]
            rows = np.zeros((len(chunk) * count, x.size))
            for i, group in enumerate(chunk):
                rows[i * count : (i + 1) * count, group] = directions[:, group]
            bad, _ = tester.failing(rows[i : i + tester.rows] for i in range(0, len(rows), tester.rows))
            failing[start : start + len(chunk)] = bad.reshape(len(chunk), count).any(axis=1)
        suspects = [group for group, bad in zip(halves, failing, strict=True) if bad]
    probed = np.concatenate(leaves) if leaves else np.zeros(0, dtype=int)
    c = _judged(analytic, x.shape, probed, probe_elements, settings, refine)
    bound = bound if np.isfinite(bound) else float("inf")
    return too_loose(dataclasses.replace(c, directions=count, bound=bound), settings)


def too_loose(c: Comparison, settings: CheckSettings) -> Comparison:
    """Covered elements (here, and in a pull-back through an author's rule) become *unchecked* when
    the bound is above the gradient itself (and atol): an element could then be wrong by its
    whole value and pass, so "verified by projection" would claim what was not verified (float32
    round-off through a coupled op can make it so). An infinite bound is one direction that left
    the op's domain, not round-off: the other directions still verify, as before."""
    bound = c.bound if c.bound is not None else 0.0
    a = c.analytic  # (its largest |a| without a copy of it: a dense layer's weights are 6 MB)
    largest = max(float(np.max(a, initial=0.0)), -float(np.min(a, initial=0.0)))
    covered = c.codes == COVERED
    if not math.isfinite(bound) or bound <= max(largest, settings.atol) or not covered.any():
        return c
    reason = (
        f"projection could see only an error above {bound:.2g}, more than the gradient itself "
        f"({largest:.2g}): round-off leaves it nothing to verify (--exhaustive compares every element)"
    )
    codes = np.array(c.codes)
    codes[covered] = UNCHECKED
    unjudged = covered if c.unjudged is None else (np.asarray(c.unjudged) | covered)
    reasons = {**c.reasons, reason: int(np.count_nonzero(covered))}
    status = c.status if c.status in ("mismatch", "nonfinite") else "unchecked"
    return dataclasses.replace(c, codes=codes, unjudged=unjudged, reasons=reasons, status=status)


# ---------------------------------------------------------------- the estimator (see choose)
RUNS_PER_DIRECTION = 4
"""x ± t·v at two step sizes."""


def wanted(work: int, loops: bool, settings: CheckSettings, size: int) -> bool:
    """Probing every one of the ``size`` elements would cost more than ``work`` element
    evaluations allow (``loops``: the probes run through an op that takes a batch one entry at a
    time), and the settings allow projecting: never under ``--exhaustive``; under ``--sample`` only
    where the sampled probes run one at a time and would cost more runs (two each) than projecting
    the whole tensor: sampling is there to save time (README, "Command line")."""
    if settings.exhaustive:
        return False
    if settings.sample is not None:
        probes = 2 * min(settings.sample, size)
        if not (loops and probes > RUNS_PER_DIRECTION * directions_for(size)):
            return False
    return work > budget.project_above(loops)


def global_wanted(job: GlobalJob) -> bool:
    """A large tensor whose loss re-runs would cost too much to probe one element at a time."""
    _, elements, loops = job.reach[job.node.name]
    size = job.trace.values[job.node.name].size
    return wanted(size * elements, loops > 0, job.settings, size)


def estimate_global(job: GlobalJob) -> Comparison:
    """dL/dnode verified by projections, the loss re-run downstream along each direction."""
    trace, node, settings = job.trace, job.node, job.settings
    plan = trace.graph.downstream(node, trace.output)
    modes = plan_modes(node, plan, trace.values)
    base = trace.values[node.name]
    per_item = max([2 * base.size] + [2 * trace.values[m.name].size for m in plan])

    def probe_elements(flat: Array) -> tuple[Array, Array, Array]:
        parts = [
            probe_downstream(trace, node, plan, modes, chunk, settings.eps)
            for chunk in budget.chunks(flat, per_item)
        ]
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))  # type: ignore[return-value]

    differences = global_differences(trace.values, node, plan, trace.output)
    key = (settings.seed, node.index, len(node.inputs) + 1)
    return projected(
        base, job.analytic, differences, key, settings, settings.eps, probe_elements, job.second_look
    )


def estimate_local(job: LocalJob) -> Comparison:
    """What the op sends its input verified by projections of ⟨u, op(x)⟩."""
    node, xs, position, out, u, eps = job.node, job.xs, job.position, job.out, job.u, job.settings.eps
    per_item = 2 * (job.x.size + out.size)

    def probe_elements(flat: Array) -> tuple[Array, Array, Array]:
        parts = [
            probe_local(node, xs, position, chunk, u, out, eps)[:3] for chunk in budget.chunks(flat, per_item)
        ]
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))  # type: ignore[return-value]

    differences = local_differences(node, xs, position, u, out)
    key = (job.settings.seed, node.index, position)
    return projected(
        job.x, job.contribution, differences, key, job.settings, eps, probe_elements, job.second_look
    )


def _judged(
    contribution: Array,
    shape: tuple[int, ...],
    probed: Array,
    probe_elements: ProbeElements,
    settings: CheckSettings,
    refine: Callable[[Comparison], Comparison],
) -> Comparison:
    """Per element where probed one by one (``refine``: a second look at those); elsewhere
    covered: verified by the projections, with no numeric value of its own."""
    size = int(np.prod(shape, dtype=int))
    if probed.size == 0:  # every element covered: no per-element arrays but the analytic and codes
        return _all_covered(contribution, shape)
    numeric = np.full(size, np.nan)
    noise = np.zeros(size)
    kinks = np.zeros(size, dtype=bool)
    sampled = np.zeros(size, dtype=bool)
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
    return dataclasses.replace(c, codes=codes, method="projection")


def _all_covered(contribution: Array, shape: tuple[int, ...]) -> Comparison:
    """Nothing probed one by one: every element covered, with no numeric value, error or noise of
    its own (read-only broadcasts: a projected tensor of 10^6 elements costs its analytic only)."""
    nothing = np.broadcast_to(np.float64(np.nan), shape)
    return Comparison(
        np.asarray(contribution, dtype=np.float64).reshape(shape),
        nothing,
        nothing,
        nothing,
        np.broadcast_to(np.False_, shape),
        np.broadcast_to(np.float64(0.0), shape),
        np.full(shape, COVERED, dtype=np.int8),
        "ok",
        unjudged=None,
        method="projection",
    )
