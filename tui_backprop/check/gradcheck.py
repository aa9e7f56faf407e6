"""The numeric check: every gradient against central finite differences, and every backward rule alone.

Two checks per node:

- **global**: the numeric dL/dnode. The node's value is perturbed by ±eps, one element at a time,
  and only the part of the graph downstream of it is re-run. All perturbations of a node travel
  together as a batch (a leading axis), in memory-bounded chunks. While the ops downstream are
  affine in the perturbed value (matmul, add, sum, pick, ...), the perturbation is pushed through
  exactly by the op's tangent rule; the batch of full evaluations only starts at the first
  nonlinear op.
- **local** (op nodes): the op's backward rule alone. With its actual upstream gradient u held
  fixed, the numeric contribution to input i is d<u, op(x)>/dx_i. A node whose local check fails is
  *blamed*: its own backward rule is wrong, whatever happened upstream.

Error formula, per element, with analytic a and numeric n::

    abs_err = |a - n|              rel_err = |a - n| / max(|a|, |n|)
    mismatch  <=>  abs_err > atol + rtol * max(|a|, |n|) + noise

``noise`` is the round-off a central difference cannot avoid: NOISE_FACTOR * machine epsilon *
(|F(x+h)| + |F(x-h)|) / (2h), with F the probed scalar (the loss, or <u, op(x)>, taken term by
term). It is what tells float32 round-off from a real error. An element whose ±eps probe moved
some op across its kink (relu or |x| at 0, max at a tie) is a ``kink``: there the derivative does
not exist, so finite differences cannot judge it, agree or not.

This module orchestrates; beside it: settings and results, choose (which estimator each tensor
gets: direct, pull-back, coloured, projection, each its own module), local (the local check), wide
(a float32 run's global check in float64), leancheck (comparisons in bounded memory), nonfinite
(where NaNs start).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from tui_backprop.check import budget, choose, colouring, userfaults, wide
from tui_backprop.check.batchprobe import downstream_reach
from tui_backprop.check.diagnosis import diagnose_node
from tui_backprop.check.jobs import GlobalJob
from tui_backprop.check.leancheck import make_lean
from tui_backprop.check.local import local_check
from tui_backprop.check.nonfinite import all_finite, nonfinite_origins, sends_nonfinite
from tui_backprop.check.probing import Estimate
from tui_backprop.check.results import DEFAULTS, Check, CheckSettings, NodeCheck  # noqa: F401 - re-exported
from tui_backprop.check.verdict import (  # noqa: F401 - re-exported: the checker's public names
    KINK,
    MISMATCH,
    NOISE_FACTOR,
    NONFINITE,
    OK,
    UNCHECKED,
    Comparison,
    Probes,
    Status,
    compare,
    round_off,
    worst,
)
from tui_backprop.core.graph import Node
from tui_backprop.core.ops import ProbeError
from tui_backprop.core.trace import Trace

Array = np.ndarray


# ---------------------------------------------------------------- public entry points
def check(trace: Trace, settings: CheckSettings) -> Check:
    """Check every node of the trace."""
    return finished(trace, settings, {c.name: c for c in iter_check(trace, settings)})


def finished(trace: Trace, settings: CheckSettings, results: dict[str, NodeCheck]) -> Check:
    """The check of ``iter_check``'s results, with the settings and the dtype its global check was
    judged in (a float32 run against float64 where its code allows; a float64 run in float32 where
    an op computes in float32)."""
    narrow = wide.narrowed(trace, settings)
    result = Check(trace, narrow[1] if narrow else settings, results)
    if narrow:
        result.global_judged_in = narrow[2]
    elif trace.graph.dtype == np.float32:
        result.global_judged_in = wide.widened(trace, settings)[2]
    return result


def iter_check(
    trace: Trace, settings: CheckSettings, should_stop: Callable[[], bool] | None = None
) -> Iterator[NodeCheck]:
    """Check node by node, in backward order, so a caller can show progress and stop early.

    ``should_stop`` is asked between nodes and between probe chunks inside a node; once it says
    True the iteration ends (the node being checked is not yielded), so a cancelled check in the
    app stops burning CPU within one chunk rather than at the end of a slow node.
    """
    narrow = wide.narrowed(trace, settings)
    if narrow is not None:  # an op computes in float32: judged as the float32 run it is
        view, settings32, why = narrow
        for result in iter_check(view, settings32, should_stop):
            result.judged_in = result.judged_in or why
            yield result
        return
    origins = nonfinite_origins(trace)
    relevant = trace.graph.ancestors(trace.output)
    unstable: dict[str, str] = {}  # filled node by node: each is asked before any node upstream
    done: dict[str, NodeCheck] = {}
    reach = downstream_reach(trace, relevant)
    estimates: dict[str, Estimate] = {}
    colourings: colouring.Found = {}
    pulled: dict[tuple[str, int], Estimate] = {}  # through authors' rules (pullback.through_rule)
    wider = wide.widened(trace, settings)
    pending = {n.name: len(n.inputs) for n in trace.graph.nodes}
    for node in reversed(trace.graph.nodes):
        if should_stop is not None and should_stop():
            return
        budget.STOP.asked = should_stop
        try:
            why = userfaults.unstable_forward(trace, node) if node.op and node.name in relevant else None
            if why:
                unstable[node.name] = why
            result = check_node(
                trace,
                node,
                settings,
                origins,
                relevant,
                done,
                reach,
                estimates,
                unstable,
                colourings,
                wider,
                pulled,
            )
        except budget.StopRequestedError:
            return
        finally:
            budget.STOP.asked = None
        done[node.name] = result
        if settings.lean:
            make_lean(result)
        if not node.inputs:  # a leaf: no node upstream pulls its estimate back
            estimates.pop(node.name, None)
        for consumer, _ in trace.consumers[node.name]:
            pending[consumer.name] -= 1
            if pending[consumer.name] == 0:  # every input has read it: release it
                estimates.pop(consumer.name, None)
                for position in range(len(consumer.inputs)):
                    colourings.pop((consumer.name, position), None)
                    pulled.pop((consumer.name, position), None)
        yield result


def check_node(
    trace: Trace,
    node: Node,
    settings: CheckSettings,
    origins: dict[str, str],
    relevant: set[str],
    done: dict[str, NodeCheck],
    reach: dict[str, tuple[int, int, int]],
    estimates: dict[str, Estimate],
    unstable: dict[str, str],
    colourings: colouring.Found,
    wider: tuple[Trace | None, CheckSettings, str],
    pulled: dict[tuple[str, int], Estimate],
) -> NodeCheck:
    """Check one node; ``done`` holds the checks of nodes downstream of it, already made, and
    ``estimates`` their numeric gradients in full (also where sampling keeps only a few);
    ``unstable`` the op nodes whose forward is not deterministic, with why; ``colourings`` the
    sparse Jacobians found so far (see colouring); ``wider`` the float64 view the global check of a
    float32 trace is judged in (see wide); ``pulled`` the estimates carried back through authors'
    rules so far (see pullback)."""
    name = node.name
    failure = trace.failures.get(name)
    if name not in relevant:
        return NodeCheck(name, "unchecked", None, note="does not reach the output")
    if name in origins:
        result = NodeCheck(name, "nonfinite", None, note=origins[name], failure=failure)
        if sends_nonfinite(trace, node):
            result.local_status = "nonfinite"  # its own backward made the NaN: blamed
        return result
    if (
        not all_finite(trace.values[name])
        or not all_finite(trace.grads[name])
        or not all_finite(trace.values[trace.output.name])
    ):
        return NodeCheck(name, "unchecked", None, note="a non-finite value reaches it")

    # (the walk downstream is asked only when needed: it costs a pass over the graph)
    plan = trace.graph.downstream(node, trace.output) if unstable else []
    through = [m.name for m in plan if m.name in unstable]
    if through:  # no finite difference through a forward that changes by itself means anything
        why = f"its probes pass through {through[0]}, whose {userfaults.NOT_DETERMINISTIC}"
        grad = userfaults.unjudged(trace.grads[name], why, settings)
    else:
        view, view_settings, _ = wider
        job = GlobalJob(view or trace, node, view_settings, reach, estimates, relevant, colourings, done)
        job.pulled = pulled
        try:
            grad = choose.estimate_global(job)
        except ProbeError as exc:
            plan = plan or trace.graph.downstream(node, trace.output)
            where = next((m.name for m in plan if m.op is exc.op), exc.op.name)
            reason = userfaults.probe_failure(exc, where)
            grad = userfaults.unjudged(trace.grads[name], reason, settings, job.method)
    result = NodeCheck(name, grad.status, grad, failure=failure)
    if name in unstable:
        result.status = result.local_status = "nondeterministic"
        result.note = unstable[name]
    elif node.op is not None:
        local_check(trace, node, settings, result, colourings)
        result.status = worst(result.grad_status, result.local_status)
        if result.blamed:
            result.diagnosis = diagnose_node(trace, node, result.local, result.jacobian_checks, settings.rtol)
    return result
