"""The ``coloured`` estimator of the local check: every element of an op's input from two runs
of the op per colour, input elements that share no output moved together (README, "How the check
works").

An elementwise op (built-in, or declared ``elementwise=True``) needs one colour: the whole input
moved by ±eps at once (probing's column grouping). Any other op whose Jacobian is sparse is
coloured from its NaN-found sparsity (colouring: Curtis, Powell and Reid).
"""

from __future__ import annotations

from tui_backprop.check import colouring, probing
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
