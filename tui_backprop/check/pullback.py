"""The ``pull-back`` estimator: a whole numeric gradient carried back through ops, every element
at once (README, "How the check works").

Global: by the chain rule, dL/dx = Σ over consumers c of J_cᵀ (dL/dc). A consumer affine in x
(matmul, linear, add, sum, ...) pulls its numeric gradient back exactly through its adjoint; an
elementwise consumer (relu, tanh, mul, ...) through its numeric diagonal, every element from two
runs of the op; any other consumer whose Jacobian is sparse through its numeric Jacobian, two runs
per colour (see colouring). Either way the result equals probing x itself element by element, up
to O(eps²), at the cost of a few runs instead of one probe per element.

**Through an author's rule.** A consumer whose Jacobian is dense and too large (the author's own
dense layer) offers no exact map: there the numeric gradient is carried back through the author's
own backward rule, once its local check has verified that rule by projection (it passed at the
actual upstream, within the projection's bound). What that global check then measures is the
gradient arriving at the rule and how the graph sums it, not the rule again: its elements are
*covered* (verified with the rule's projection, whose bound they carry), never compared; a rule
not verified that way is never pulled back through. Only where the alternative is projecting the
tensor with the loss re-run downstream (``through_rules``), never under ``--exhaustive``.

Local: for an input a built-in op is affine in, d⟨u, op(x)⟩/dx = Tᵀu, the upstream pulled back by
the op's adjoint (frozen from its original formula: a planted bug cannot reach it).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from tui_backprop.check import budget, colouring, probing
from tui_backprop.check.batchprobe import noise_of
from tui_backprop.check.jobs import GlobalJob, LocalJob
from tui_backprop.check.leancheck import compare_estimate
from tui_backprop.check.probing import Estimate, rests_on
from tui_backprop.check.projection import too_loose
from tui_backprop.check.settings import CheckSettings
from tui_backprop.check.verdict import COVERED, OK, Comparison
from tui_backprop.core.graph import Node
from tui_backprop.core.trace import BackwardRuleError, call_backward

Array = np.ndarray


def _consumers(job: GlobalJob) -> list[tuple[Node, int]]:
    trace = job.trace
    return [(c, p) for c, p in trace.consumers[job.node.name] if c.name in job.relevant]


def allowed(job: GlobalJob, fewer_runs: bool = False, through_rules: bool = False) -> bool:
    """Does every consumer of the node offer a numeric gradient to pull back, through an op that
    allows it (affine, elementwise, or coloured: its colouring is found here, once per op)?
    ``fewer_runs`` (probing the node is the exact alternative): an author's op is coloured only
    in fewer runs of it than the probes would make, its search held to that. ``through_rules``
    (projecting is the alternative): also an author's rule its local check verified by projection."""
    consumers = _consumers(job)
    if not consumers:
        return False
    _, _, loops = job.reach[job.node.name]
    probe_runs = 2 * job.trace.values[job.node.name].size * loops  # each probe runs each such op
    for consumer, position in consumers:
        m = job.estimates.get(consumer.name)
        if m is None or not np.all(np.isfinite(m.numeric)):
            return False
        held = probe_runs - 1 if fewer_runs and budget.loops(consumer.op) else None
        if _exact_way(job, consumer, position, held) is None and not (
            through_rules and verified_rule(job, consumer, position) is not None
        ):
            return False
    return True


def _exact_way(job: GlobalJob, consumer: Node, position: int, held: int | None = None) -> str | None:
    """How the consumer's numeric gradient is pulled back exactly (None: it is not; ``held``: a
    colouring only in fewer runs than that)."""
    op = consumer.op
    if probing.can_pull_back_affine(op, position):
        return "affine"
    if op is not None and (op.diagonal or op.elementwise):
        return "elementwise"
    xs = [job.trace.values[p.name] for p in consumer.inputs]
    found = colouring.cached(job.colourings, consumer, xs, position, job.trace.values[consumer.name], held)
    if found is None or (held is not None and 2 * found.count > held):
        return None
    return "coloured"


def verified_rule(job: GlobalJob, consumer: Node, position: int) -> float | None:
    """The bound of the projection by which the consumer's local check (made already: it is
    downstream) verified what its rule sends input ``position``; None unless that check passed
    whole (no element unchecked, a finite bound, nothing else wrong with the node)."""
    done = job.done.get(consumer.name)
    if done is None or done.local_status != "ok" or done.blamed:
        return None
    c = done.local.get(position)
    if c is None or c.method != "projection" or c.status != "ok" or c.n_unchecked or c.n_mismatch:
        return None
    if c.bound is None or not math.isfinite(c.bound):
        return None
    return c.bound


def through_rule(job: GlobalJob, consumer: Node, position: int, m: Estimate) -> Estimate | None:
    """The consumer's numeric gradient ``m`` carried back through its author's rule (every input
    at once, kept for the consumer's other inputs until each has read its own); None when the
    rule raises on it."""
    key = (consumer.name, position)
    if key not in job.pulled:
        sent = _rule_pull_back(job, consumer, m)
        if sent is None:
            return None
        job.pulled.update({(consumer.name, i): e for i, e in enumerate(sent)})
    return job.pulled.pop(key)  # each input's is read once: memory


NOISE_SAMPLES = 4
"""Runs of the rule on the round-off with random signs (see ``_rule_pull_back``)."""


def _rule_pull_back(job: GlobalJob, consumer: Node, m: Estimate) -> list[Estimate] | None:
    """R(m) per input, R the author's rule at the consumer's inputs. Its round-off: the estimate's
    carried back root-sum-square as for a built-in (Σ R_ij² n_j², whose unbiased estimate is
    R(s·n)² for random signs s), from NOISE_SAMPLES runs, doubled: a rule has no |R| to ask."""
    trace = job.trace
    xs = [trace.values[p.name] for p in consumer.inputs]
    out = trace.values[consumer.name]
    rng = np.random.default_rng([job.settings.seed, consumer.index, 2])

    def rule(upstream: Array) -> tuple[Array, ...]:
        sent = call_backward(consumer, upstream.astype(out.dtype).reshape(out.shape), out, xs)
        return tuple(np.asarray(g, dtype=np.float64) for g in sent)

    try:
        numeric = rule(m.numeric)
        squares = [np.zeros(x.shape) for x in xs]
        for _ in range(NOISE_SAMPLES):
            signs = rng.choice(np.array([-1.0, 1.0]), size=m.noise.shape)
            for total, g in zip(squares, rule(signs * m.noise), strict=True):
                total += np.square(g, out=g)  # in place: a dense layer's dW is the largest array here
        kinks = [np.zeros(x.shape, dtype=bool) for x in xs]
        if m.kinks.any():  # random positive weights: no cancellation hides a kink
            weights = rng.uniform(0.5, 1.0, size=m.kinks.shape) * m.kinks
            kinks = [g != 0 for g in rule(weights)]
    except BackwardRuleError:
        return None
    for s in squares:
        np.sqrt(np.divide(s, NOISE_SAMPLES, out=s), out=s)
    return [Estimate(n, s, k, m.rests_on) for n, s, k in zip(numeric, squares, kinks, strict=True)]


def estimate_global(job: GlobalJob) -> Comparison | None:
    """dL/dnode from its consumers' numeric gradients (None: a coloured op's runs moved an output
    its colouring says nothing reaches, see colouring), suspects looked at again."""
    trace, settings = job.trace, job.settings
    noise = noise_of(trace.graph.dtype)
    total: Estimate | None = None
    for consumer, position in _consumers(job):
        m = job.estimates[consumer.name]
        xs = [trace.values[p.name] for p in consumer.inputs]
        op = consumer.op
        assert op is not None
        out = trace.values[consumer.name]
        way = _exact_way(job, consumer, position)
        if way == "affine":
            part = probing.affine_pull_back(op, position, m, xs)
        elif way == "elementwise":
            part = probing.grouped_pull_back(op, position, m, xs, out, settings.eps, noise)
        elif way == "coloured":
            found = job.colourings[(consumer.name, position)]
            assert found is not None
            coloured = colouring.pull_back(op, xs, position, m, out, found, settings.eps, noise)
            if coloured is None:
                return None
            part = coloured
        else:
            pulled = through_rule(job, consumer, position, m)
            if pulled is None:
                return None
            part = dataclasses.replace(pulled, rests_on=verified_rule(job, consumer, position))
        part = dataclasses.replace(part, rests_on=rests_on(part.rests_on, m.rests_on))
        if total is None:
            total = part
        else:
            total += part
    assert total is not None
    job.estimates[job.node.name] = total
    indices = budget.probe_indices(job.node, total.numeric.size, settings)
    if total.rests_on is None:
        return job.second_look(compare_estimate(job.analytic, total, indices, settings, below_noise=True))
    c = job.second_look(compare_estimate(job.analytic, total, indices, settings))
    return _covered(c, max(total.rests_on, float(np.max(total.noise, initial=0.0))), settings)


def _covered(c: Comparison, bound: float, settings: CheckSettings) -> Comparison:
    """Elements that agree with an estimate resting on an author's rule are covered, not compared
    (its numbers are not their own finite differences). Their bound: the rule's projection's, or
    the estimate's round-off where that is larger (an element whose gradient is below round-off
    is verified to that and no better); unchecked where that is above the gradient itself."""
    codes = np.where(c.codes == OK, np.int8(COVERED), c.codes).astype(np.int8)
    return too_loose(dataclasses.replace(c, codes=codes, bound=bound), settings)


def affine(job: LocalJob) -> bool:
    """Is the op a built-in affine in this input (its adjoint gives d⟨u, op(x)⟩/dx exactly)?"""
    return probing.can_pull_back_affine(job.node.op, job.position)


def estimate_local(job: LocalJob) -> Comparison:
    """Tᵀu for every element: exact, so nothing to look at again."""
    assert job.node.op is not None
    upstream = job.u.reshape(job.out.shape)
    estimate = probing.affine_local(job.node.op, job.position, upstream, job.xs, noise_of(job.x.dtype))
    return compare_estimate(job.contribution, estimate, job.indices, job.settings)
