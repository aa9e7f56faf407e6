"""The ``coloured`` estimator of the local check: every element of an op's input from two runs
of the op per colour, input elements that share no output moved together (README, "How the check
works").

An elementwise op (built-in, or declared ``elementwise=True``) needs one colour: the whole input
moved by ±eps at once (probing's column grouping). Any other op whose Jacobian is sparse is
coloured from its NaN-found sparsity (colouring: Curtis, Powell and Reid).
"""

from __future__ import annotations

import numpy as np

from tui_backprop.check import budget, colouring, probing
from tui_backprop.check.batchprobe import noise_of
from tui_backprop.check.jobs import LocalJob
from tui_backprop.check.leancheck import compare_estimate
from tui_backprop.check.verdict import Comparison


def possible(job: LocalJob) -> bool:
    """Elementwise, or a colouring of the input is found (once per op and input, kept for the
    global check's pull-back through the same op)."""
    op = job.node.op
    assert op is not None
    if op.diagonal or op.elementwise:
        return True
    return colouring.cached(job.colourings, job.node, job.xs, job.position, job.out) is not None


def fewer_runs_than_direct(job: LocalJob) -> bool:
    """An author's op that runs a batch one entry at a time (budget.loops), cheap to probe by its
    work yet probed in two runs per element: is a colouring found that costs fewer runs (its NaN
    search held to what probing would cost, its ±eps runs counted)? Both ways are exact."""
    if not budget.loops(job.node.op):
        return False
    direct_runs = 2 * len(job.indices)
    if direct_runs <= colouring.SAMPLED + colouring.runs_needed(np.array([job.x.size])):
        return False  # not even one colour of every column could cost less: not searched
    search = direct_runs - colouring.SAMPLED
    found = colouring.cached(job.colourings, job.node, job.xs, job.position, job.out, search)
    return found is not None and 2 * found.count < direct_runs


def estimate_local(job: LocalJob) -> Comparison | None:
    """Every element's numeric d⟨u, op(x)⟩/dx, suspects looked at again (None: the runs moved an
    output the colouring says nothing of that colour reaches)."""
    op = job.node.op
    assert op is not None
    upstream = job.u.reshape(job.out.shape)
    noise = noise_of(job.x.dtype)
    eps = job.settings.eps
    if op.diagonal or op.elementwise:
        estimate = probing.grouped_local(op, job.position, upstream, job.xs, job.out, eps, noise)
    else:
        found = job.colourings[(job.node.name, job.position)]
        assert found is not None
        coloured = colouring.local_estimate(op, job.xs, job.position, upstream, job.out, found, eps, noise)
        if coloured is None:
            return None
        estimate = coloured
    return job.second_look(compare_estimate(job.contribution, estimate, job.indices, job.settings))
