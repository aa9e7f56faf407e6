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

This module orchestrates; beside it: settings and results, batchprobe (the graph downstream run on a
batch), local (the local check), colouring and projection (numeric gradients where probing every
element would cost too much), wide (a float32 run's global check in float64), leancheck
(comparisons in bounded memory), nonfinite (where NaNs start).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import numpy as np

from tui_backprop.check import budget, colouring, probing, projection, reprobe, userfaults, wide
from tui_backprop.check.batchprobe import downstream_reach, noise_of, plan_modes, probe_downstream
from tui_backprop.check.diagnosis import diagnose_node
from tui_backprop.check.leancheck import compare_estimate, make_lean
from tui_backprop.check.local import local_check
from tui_backprop.check.nonfinite import all_finite, nonfinite_origins, sends_nonfinite
from tui_backprop.check.probing import Estimate
from tui_backprop.check.refine import second_look
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
    result = Check(trace, settings, {c.name: c for c in iter_check(trace, settings)})
    result.global_judged_in = wide.widened(trace, settings)[2] if trace.graph.dtype == np.float32 else ""
    return result


def iter_check(
    trace: Trace, settings: CheckSettings, should_stop: Callable[[], bool] | None = None
) -> Iterator[NodeCheck]:
    """Check node by node, in backward order, so a caller can show progress and stop early.

    ``should_stop`` is asked between nodes and between probe chunks inside a node; once it says
    True the iteration ends (the node being checked is not yielded), so a cancelled check in the
    app stops burning CPU within one chunk rather than at the end of a slow node.
    """
    origins = nonfinite_origins(trace)
    relevant = trace.graph.ancestors(trace.output)
    unstable: dict[str, str] = {}  # filled node by node: each is asked before any node upstream
    done: dict[str, NodeCheck] = {}
    reach = downstream_reach(trace, relevant)
    estimates: dict[str, Estimate] = {}
    colourings: colouring.Found = {}
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
                trace, node, settings, origins, relevant, done, reach, estimates, unstable, colourings, wider
            )
        except budget.StopRequestedError:
            return
        finally:
            budget.STOP.asked = None
        done[node.name] = result
        if settings.lean:
            make_lean(result)
        for consumer, _ in trace.consumers[node.name]:
            pending[consumer.name] -= 1
            if pending[consumer.name] == 0:  # every input has read it: release it
                estimates.pop(consumer.name, None)
                for position in range(len(consumer.inputs)):
                    colourings.pop((consumer.name, position), None)
        yield result


def check_node(
    trace: Trace,
    node: Node,
    settings: CheckSettings,
    origins: dict[str, str] | None = None,
    relevant: set[str] | None = None,
    done: dict[str, NodeCheck] | None = None,
    reach: dict[str, tuple[int, int, int]] | None = None,
    estimates: dict[str, Estimate] | None = None,
    unstable: dict[str, str] | None = None,
    colourings: colouring.Found | None = None,
    wider: tuple[Trace | None, CheckSettings, str] | None = None,
) -> NodeCheck:
    """Check one node; ``done`` holds the checks of nodes downstream of it, already made, and
    ``estimates`` their numeric gradients in full (also where sampling keeps only a few);
    ``unstable`` the op nodes whose forward is not deterministic, with why; ``colourings`` the
    sparse Jacobians found so far (see colouring); ``wider`` the float64 view the global check of a
    float32 trace is judged in (see wide)."""
    colourings = {} if colourings is None else colourings
    origins = nonfinite_origins(trace) if origins is None else origins
    unstable = userfaults.unstable_forwards(trace) if unstable is None else unstable
    relevant = trace.graph.ancestors(trace.output) if relevant is None else relevant
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

    done = done or {}
    estimates = {} if estimates is None else estimates
    # (the walk downstream is asked only when needed: it costs a pass over the graph)
    plan = trace.graph.downstream(node, trace.output) if unstable else []
    through = [m.name for m in plan if m.name in unstable]
    if through:  # no finite difference through a forward that changes by itself means anything
        why = f"its probes pass through {through[0]}, whose {userfaults.NOT_DETERMINISTIC}"
        grad = userfaults.unjudged(trace.grads[name], why, settings)
    else:
        try:
            view, view_settings, _ = wider if wider is not None else (None, settings, "")
            grad = _global_grad(
                view or trace, node, view_settings, done, reach, estimates, relevant, colourings
            )
        except ProbeError as exc:
            plan = plan or trace.graph.downstream(node, trace.output)
            where = next((m.name for m in plan if m.op is exc.op), exc.op.name)
            grad = userfaults.unjudged(trace.grads[name], userfaults.probe_failure(exc, where), settings)
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


def _global_grad(
    trace: Trace,
    node: Node,
    settings: CheckSettings,
    done: dict[str, NodeCheck],
    reach: dict[str, tuple[int, int, int]] | None,
    estimates: dict[str, Estimate],
    relevant: set[str],
    colourings: colouring.Found,
) -> Comparison:
    """dL/dnode against its numeric estimate, suspects looked at again."""
    name = node.name
    grad = None
    every_element_cheap = _direct_is_cheap(trace, node, settings, reach, every_element=True)
    if not every_element_cheap:
        grad = _pulled_back(trace, node, settings, estimates, relevant, colourings)
    if grad is None and settings.sample is not None and every_element_cheap:
        # Sampling, but every element is cheap here: probe them all, so that the nodes upstream
        # can still pull this estimate back, and compare only the sampled ones.
        whole = _global_comparison(trace, node, dataclasses.replace(settings, sample=None))
        estimates[name] = Estimate(whole.numeric, whole.noise, whole.kinks)
        indices = budget.probe_indices(node, whole.numeric.size, settings)
        grad = compare_estimate(trace.grads[name], estimates[name], indices, settings, below_noise=True)

    def look_again(c: Comparison) -> Comparison:
        if not (c.n_mismatch or c.n_unjudged):  # (asked only then: each costs a walk downstream)
            return c
        # Below a blamed node a global mismatch is inherited: look again only at NaN probes there.
        downstream = trace.graph.downstream(node, trace.output)
        inherited = any(done[m.name].blamed for m in downstream if m.name in done)
        evaluate = reprobe.global_evaluator(trace, node)
        base = trace.values[name]
        return second_look(c, evaluate, settings, trace.graph.dtype, not inherited, base, below_noise=True)

    if grad is None and _projects_global(trace, node, settings, reach):
        return _projected_global(trace, node, settings, look_again)
    if grad is None:
        grad = _global_comparison(trace, node, settings)
        estimates[name] = Estimate(grad.numeric, grad.noise, grad.kinks)
    return look_again(grad)


def _projects_global(
    trace: Trace, node: Node, settings: CheckSettings, reach: dict[str, tuple[int, int, int]] | None
) -> bool:
    """A large tensor that nothing pulls back: verified by projections (unless asked not to)."""
    if settings.exhaustive or settings.sample is not None or reach is None:
        return False
    _, elements, loops = reach[node.name]
    return trace.values[node.name].size * elements > budget.project_above(loops > 0)


def _projected_global(
    trace: Trace, node: Node, settings: CheckSettings, refine: Callable[[Comparison], Comparison]
) -> Comparison:
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

    differences = projection.global_differences(trace.values, node, plan, trace.output)
    key = (settings.seed, node.index, len(node.inputs) + 1)
    return projection.projected(
        base, trace.grads[node.name], differences, key, settings, settings.eps, probe_elements, refine
    )


def _direct_is_cheap(
    trace: Trace,
    node: Node,
    settings: CheckSettings,
    reach: dict[str, tuple[int, int, int]] | None,
    every_element: bool = False,
) -> bool:
    """Few probes of few elements each: each probe re-runs ``elements`` downstream and starts from a
    row of the node's own size (a perturbed copy, or a tangent's basis row), both counted."""
    if reach is None:
        return False
    ops, elements, _ = reach[node.name]
    size = trace.values[node.name].size
    probes = size if every_element else min(size, settings.sample or size)
    return ops <= budget.FAST_OPS and probes * (elements + size) <= budget.FAST_WORK


# ---------------------------------------------------------------- probing
def _global_comparison(trace: Trace, node: Node, settings: CheckSettings) -> Comparison:
    base = trace.values[node.name]
    indices = budget.probe_indices(node, base.size, settings)
    plan = trace.graph.downstream(node, trace.output)
    modes = plan_modes(node, plan, trace.values)
    materialized = any(modes[m.name] == "value" and node in m.inputs for m in plan) or not plan
    per_item = max(
        [2 * base.size if materialized else base.size]  # a tangent starts from a basis row
        + [(2 if modes[m.name] == "value" else 1) * trace.values[m.name].size for m in plan]
    )
    probes = Probes(base)
    for flat in budget.chunks(indices, per_item):
        probes.put(flat, *probe_downstream(trace, node, plan, modes, flat, settings.eps))
    return probes.compare(trace.grads[node.name], settings, below_noise=True)


def _pulled_back(
    trace: Trace,
    node: Node,
    settings: CheckSettings,
    estimates: dict[str, Estimate],
    relevant: set[str],
    colourings: colouring.Found,
) -> Comparison | None:
    """Numeric dL/dnode from its consumers' numeric gradients, when every consumer allows it.

    By the chain rule, dL/dx = Σ over consumers c of J_cᵀ (dL/dc). A consumer affine in x
    (matmul, linear, add, sum, ...) pulls its numeric gradient back exactly through its adjoint;
    an elementwise consumer (relu, tanh, mul, ...) through its numeric diagonal, every element
    from two runs of the op; any other consumer whose Jacobian is sparse through its numeric
    Jacobian, two runs per colour (see colouring). Either way the result equals probing x itself
    element by element, up to O(eps²), at the cost of a few runs instead of one probe per element.
    """
    consumers = [(c, p) for c, p in trace.consumers[node.name] if c.name in relevant]
    if not consumers:
        return None
    noise = noise_of(trace.graph.dtype)
    total: Estimate | None = None
    for consumer, position in consumers:
        m = estimates.get(consumer.name)
        if m is None or not np.all(np.isfinite(m.numeric)):
            return None
        xs = [trace.values[p.name] for p in consumer.inputs]
        op = consumer.op
        if probing.can_pull_back_affine(op, position):
            assert op is not None
            part = probing.affine_pull_back(op, position, m, xs)
        elif op is not None and (op.diagonal or op.elementwise):
            out = trace.values[consumer.name]
            part = probing.grouped_pull_back(op, position, m, xs, out, settings.eps, noise)
        else:
            out = trace.values[consumer.name]
            found = colouring.cached(colourings, consumer, xs, position, out)
            if found is None:
                return None
            assert op is not None
            coloured = colouring.pull_back(op, xs, position, m, out, found, settings.eps, noise)
            if coloured is None:
                return None
            part = coloured
        if total is None:
            total = part
        else:
            total += part
    assert total is not None
    estimates[node.name] = total
    indices = budget.probe_indices(node, total.numeric.size, settings)
    return compare_estimate(trace.grads[node.name], total, indices, settings, below_noise=True)
