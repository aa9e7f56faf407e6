"""Which way each tensor's numeric gradient is had: one chooser per check, and its choice is the
``method`` every output reports (README, "How the check works").

Four estimators, each a module with the same interface (a job in, a comparison out, or None when
it declines the tensor after all, see below):

- ``direct``: every element probed by ±eps (cheap tensors; what every built-in gets);
- ``pull-back``: a whole numeric gradient carried back through ops, every element at once (the
  global check of a node whose consumers' estimates allow it; the local check of an input its op
  is affine in);
- ``coloured``: the local check of an elementwise op, or of one whose Jacobian is sparse, from
  two runs per colour;
- ``projection``: random projections of the whole tensor, for what is dense and too large.

The order below is the order of preference: exact per element and cheap first, projection only
where nothing exact is affordable. An estimator that declines (a coloured op's runs moved an
output its colouring says nothing reaches) is refused for that tensor and the chooser asked again.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

from tui_backprop.check import budget, coloured, direct, projection, pullback
from tui_backprop.check.jobs import GlobalJob, LocalJob
from tui_backprop.check.verdict import Comparison, Method

Job = TypeVar("Job", GlobalJob, LocalJob)


def choose_global(job: GlobalJob) -> Method:
    """dL/dnode: probed when every element is cheap, else pulled back from its consumers where
    they allow it (through an author's op only in fewer runs of it than probing, where probing is
    the alternative; through an author's verified rule only where projecting is), else projected
    when probing would cost too much, else probed."""
    projected = projection.global_wanted(job)
    if (
        not direct.is_cheap(job)
        and "pull-back" not in job.refused
        and pullback.allowed(job, fewer_runs=not projected, through_rules=projected)
    ):
        return "pull-back"
    return "projection" if projected else "direct"


def choose_local(job: LocalJob) -> Method:
    """An op's backward rule for one input: probed when that is cheap (and always for a small op,
    whose Jacobian is compared too, and unless a colouring takes fewer runs of an author's op),
    else pulled back through an affine op's adjoint, else coloured, else projected when probing
    would cost too much, else probed."""
    op = job.node.op
    if job.small:
        return "direct"
    if job.direct_work <= budget.FAST_WORK and (
        "coloured" in job.refused or not coloured.fewer_runs_than_direct(job)
    ):
        return "direct"
    if pullback.affine(job):
        return "pull-back"
    if "coloured" not in job.refused and coloured.possible(job):
        return "coloured"
    every_element = job.x.size * (job.out.size + job.x.size)  # (direct_work counts the sampled ones)
    if projection.wanted(every_element, budget.loops(op), job.settings, job.x.size):
        return "projection"
    return "direct"


GLOBAL: Mapping[Method, Callable[[GlobalJob], Comparison | None]] = {
    "direct": direct.estimate_global,
    "pull-back": pullback.estimate_global,
    "projection": projection.estimate_global,
}
LOCAL: Mapping[Method, Callable[[LocalJob], Comparison | None]] = {
    "direct": direct.estimate_local,
    "pull-back": pullback.estimate_local,
    "coloured": coloured.estimate_local,
    "projection": projection.estimate_local,
}


def _estimate(
    job: Job, choose: Callable[[Job], Method], estimators: Mapping[Method, Callable[[Job], Comparison | None]]
) -> Comparison:
    while True:
        job.method = choose(job)
        comparison = estimators[job.method](job)
        if comparison is not None:
            comparison.method = job.method
            return comparison
        job.refused.add(job.method)


def estimate_global(job: GlobalJob) -> Comparison:
    """The global check of one node by the method chosen for it (``job.method`` says which)."""
    return _estimate(job, choose_global, GLOBAL)


def estimate_local(job: LocalJob) -> Comparison:
    """The local check of one input by the method chosen for it (``job.method`` says which)."""
    return _estimate(job, choose_local, LOCAL)
