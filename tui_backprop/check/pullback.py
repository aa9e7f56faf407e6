"""The ``pull-back`` estimator: a whole numeric gradient carried back through ops, every element
at once (README, "How the check works").

Global: by the chain rule, dL/dx = Σ over consumers c of J_cᵀ (dL/dc). A consumer affine in x
(matmul, linear, add, sum, ...) pulls its numeric gradient back exactly through its adjoint; an
elementwise consumer (relu, tanh, mul, ...) through its numeric diagonal, every element from two
runs of the op; any other consumer whose Jacobian is sparse through its numeric Jacobian, two runs
per colour (see colouring). Either way the result equals probing x itself element by element, up
to O(eps²), at the cost of a few runs instead of one probe per element.

Local: for an input a built-in op is affine in, d⟨u, op(x)⟩/dx = Tᵀu, the upstream pulled back by
the op's adjoint (frozen from its original formula: a planted bug cannot reach it).
"""

from __future__ import annotations

import numpy as np

from tui_backprop.check import budget, colouring, probing
from tui_backprop.check.batchprobe import noise_of
from tui_backprop.check.jobs import GlobalJob, LocalJob
from tui_backprop.check.leancheck import compare_estimate
from tui_backprop.check.probing import Estimate
from tui_backprop.check.verdict import Comparison
from tui_backprop.core.graph import Node

Array = np.ndarray


def _consumers(job: GlobalJob) -> list[tuple[Node, int]]:
    trace = job.trace
    return [(c, p) for c, p in trace.consumers[job.node.name] if c.name in job.relevant]


def allowed(job: GlobalJob, fewer_runs: bool = False) -> bool:
    """Does every consumer of the node offer a numeric gradient to pull back, through an op that
    allows it (affine, elementwise, or coloured: its colouring is found here, once per op)?
    ``fewer_runs`` (probing the node is the exact alternative): an author's op is coloured only
    in fewer runs of it than the probes would make, its search held to that."""
    consumers = _consumers(job)
    if not consumers:
        return False
    _, _, loops = job.reach[job.node.name]
    probe_runs = 2 * job.trace.values[job.node.name].size * loops  # each probe runs each such op
    for consumer, position in consumers:
        m = job.estimates.get(consumer.name)
        if m is None or not np.all(np.isfinite(m.numeric)):
            return False
        op = consumer.op
        if probing.can_pull_back_affine(op, position) or (op is not None and (op.diagonal or op.elementwise)):
            continue
        xs = [job.trace.values[p.name] for p in consumer.inputs]
        held = probe_runs - 1 if fewer_runs and budget.loops(op) else None
        found = colouring.cached(
            job.colourings, consumer, xs, position, job.trace.values[consumer.name], held
        )
        if found is None or (held is not None and 2 * found.count > held):
            return False
    return True


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
        if probing.can_pull_back_affine(op, position):
            part = probing.affine_pull_back(op, position, m, xs)
        elif op.diagonal or op.elementwise:
            part = probing.grouped_pull_back(op, position, m, xs, out, settings.eps, noise)
        else:
            found = job.colourings[(consumer.name, position)]
            assert found is not None
            coloured = colouring.pull_back(op, xs, position, m, out, found, settings.eps, noise)
            if coloured is None:
                return None
            part = coloured
        if total is None:
            total = part
        else:
            total += part
    assert total is not None
    job.estimates[job.node.name] = total
    indices = budget.probe_indices(job.node, total.numeric.size, settings)
    return job.second_look(compare_estimate(job.analytic, total, indices, settings, below_noise=True))


def affine(job: LocalJob) -> bool:
    """Is the op a built-in affine in this input (its adjoint gives d⟨u, op(x)⟩/dx exactly)?"""
    return probing.can_pull_back_affine(job.node.op, job.position)


def estimate_local(job: LocalJob) -> Comparison:
    """Tᵀu for every element: exact, so nothing to look at again."""
    assert job.node.op is not None
    upstream = job.u.reshape(job.out.shape)
    estimate = probing.affine_local(job.node.op, job.position, upstream, job.xs, noise_of(job.x.dtype))
    return compare_estimate(job.contribution, estimate, job.indices, job.settings)
