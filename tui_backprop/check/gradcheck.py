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

This module orchestrates; beside it: checkresult (settings and results), batchprobe (a batch of
probes run downstream), leancheck (comparisons in bounded memory), nonfinite (where NaNs start).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator

import numpy as np

from tui_backprop.check import probing, projection, reprobe, userfaults
from tui_backprop.check.batchprobe import downstream_reach, noise_of, plan_modes, probe_downstream
from tui_backprop.check.diagnosis import diagnose_node
from tui_backprop.check.leancheck import compare_estimate, make_lean
from tui_backprop.check.nonfinite import all_finite, nonfinite_origins, sends_nonfinite
from tui_backprop.check.probing import Estimate, as_batch, half_step, perturbed, straddles
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
from tui_backprop.core.ops import Op, ProbeError
from tui_backprop.core.ops.base import MAX_DIMS
from tui_backprop.core.trace import Trace

Array = np.ndarray
FAST_WORK = 1 << 16
"""Above this many element evaluations (probes × elements each one re-runs), a node's numeric
gradient is pulled back from its consumers' (exact per element, see probing) rather than probed
element by element. Small graphs, every built-in but deep-mlp among them, keep direct probes."""
FAST_OPS = 32
"""Likewise above this many ops downstream: each one costs a Python call per probe batch."""
PROJECT_WORK = 1 << 24
"""Above this many element evaluations, the local check of an op that allows no fast way (see
probing) verifies the input by random projections (see projection) unless ``exhaustive``."""
BATCH_BUDGET = 1 << 20
"""Most elements any one batched tensor may hold (8 MiB in float64). Batches are released as soon
as every op that reads them has run, so this bounds the check's memory with the widest layer."""


# ---------------------------------------------------------------- public entry points
def check(trace: Trace, settings: CheckSettings) -> Check:
    """Check every node of the trace."""
    return Check(trace, settings, {c.name: c for c in iter_check(trace, settings)})


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
    pending = {n.name: len(n.inputs) for n in trace.graph.nodes}
    for node in reversed(trace.graph.nodes):
        if should_stop is not None and should_stop():
            return
        _STOP.asked = should_stop
        try:
            why = userfaults.unstable_forward(trace, node) if node.op and node.name in relevant else None
            if why:
                unstable[node.name] = why
            result = check_node(trace, node, settings, origins, relevant, done, reach, estimates, unstable)
        except _StopRequestedError:
            return
        finally:
            _STOP.asked = None
        done[node.name] = result
        if settings.lean:
            make_lean(result)
        for consumer, _ in trace.consumers[node.name]:
            pending[consumer.name] -= 1
            if pending[consumer.name] == 0:  # every input has read it: release it
                estimates.pop(consumer.name, None)
        yield result


class _StopRequestedError(Exception):
    """``iter_check``'s ``should_stop`` said True between two probe chunks."""


_STOP = threading.local()
"""The running ``iter_check``'s ``should_stop`` (per thread), consulted by ``_chunks``."""


def check_node(
    trace: Trace,
    node: Node,
    settings: CheckSettings,
    origins: dict[str, str] | None = None,
    relevant: set[str] | None = None,
    done: dict[str, NodeCheck] | None = None,
    reach: dict[str, tuple[int, int]] | None = None,
    estimates: dict[str, Estimate] | None = None,
    unstable: dict[str, str] | None = None,
) -> NodeCheck:
    """Check one node; ``done`` holds the checks of nodes downstream of it, already made, and
    ``estimates`` their numeric gradients in full (also where sampling keeps only a few);
    ``unstable`` the op nodes whose forward is not deterministic, with why."""
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
            grad = _global_grad(trace, node, settings, done, reach, estimates, relevant)
        except ProbeError as exc:
            plan = plan or trace.graph.downstream(node, trace.output)
            where = next((m.name for m in plan if m.op is exc.op), exc.op.name)
            grad = userfaults.unjudged(trace.grads[name], userfaults.probe_failure(exc, where), settings)
    result = NodeCheck(name, grad.status, grad, failure=failure)
    if name in unstable:
        result.status = result.local_status = "nondeterministic"
        result.note = unstable[name]
    elif node.op is not None:
        _local_check(trace, node, settings, result)
        result.status = worst(result.grad_status, result.local_status)
        if result.blamed:
            result.diagnosis = diagnose_node(trace, node, result.local, result.jacobian_checks, settings.rtol)
    return result


def _global_grad(
    trace: Trace,
    node: Node,
    settings: CheckSettings,
    done: dict[str, NodeCheck],
    reach: dict[str, tuple[int, int]] | None,
    estimates: dict[str, Estimate],
    relevant: set[str],
) -> Comparison:
    """dL/dnode against its numeric estimate, suspects looked at again."""
    name = node.name
    grad = None
    every_element_cheap = _direct_is_cheap(trace, node, settings, reach, every_element=True)
    if not every_element_cheap:
        grad = _pulled_back(trace, node, settings, estimates, relevant)
    if grad is None and settings.sample is not None and every_element_cheap:
        # Sampling, but every element is cheap here: probe them all, so that the nodes upstream
        # can still pull this estimate back, and compare only the sampled ones.
        whole = _global_comparison(trace, node, dataclasses.replace(settings, sample=None))
        estimates[name] = Estimate(whole.numeric, whole.noise, whole.kinks)
        indices = _probe_indices(node, whole.numeric.size, settings)
        grad = compare_estimate(trace.grads[name], estimates[name], indices, settings)

    def look_again(c: Comparison) -> Comparison:
        if not (c.n_mismatch or c.n_unjudged):  # (asked only then: each costs a walk downstream)
            return c
        # Below a blamed node a global mismatch is inherited: look again only at NaN probes there.
        downstream = trace.graph.downstream(node, trace.output)
        inherited = any(done[m.name].blamed for m in downstream if m.name in done)
        evaluate = reprobe.global_evaluator(trace, node)
        base = trace.values[name]
        return second_look(c, evaluate, settings, trace.graph.dtype, not inherited, base)

    if grad is None and _projects_global(trace, node, settings, reach):
        return _projected_global(trace, node, settings, look_again)
    if grad is None:
        grad = _global_comparison(trace, node, settings)
        estimates[name] = Estimate(grad.numeric, grad.noise, grad.kinks)
    return look_again(grad)


def _projects_global(
    trace: Trace, node: Node, settings: CheckSettings, reach: dict[str, tuple[int, int]] | None
) -> bool:
    """A large tensor that nothing pulls back: verified by projections (unless asked not to)."""
    if settings.exhaustive or settings.sample is not None or reach is None:
        return False
    return trace.values[node.name].size * reach[node.name][1] > PROJECT_WORK


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
            for chunk in _chunks(flat, per_item)
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
    reach: dict[str, tuple[int, int]] | None,
    every_element: bool = False,
) -> bool:
    if reach is None:
        return False
    ops, elements = reach[node.name]
    size = trace.values[node.name].size
    probes = size if every_element else min(size, settings.sample or size)
    return ops <= FAST_OPS and probes * elements <= FAST_WORK


# ---------------------------------------------------------------- probing
def _probe_indices(node: Node, size: int, settings: CheckSettings) -> Array:
    if settings.sample is None or size <= settings.sample:
        return np.arange(size)
    rng = np.random.default_rng([settings.seed, node.index])
    return np.sort(rng.choice(size, settings.sample, replace=False))


def _chunks(indices: Array, per_item: int) -> Iterator[Array]:
    size = max(1, BATCH_BUDGET // max(per_item, 1))
    for chunk in [indices[i : i + size] for i in range(0, len(indices), size)] or [indices]:
        asked = getattr(_STOP, "asked", None)
        if asked is not None and asked():
            raise _StopRequestedError
        yield chunk


def _global_comparison(trace: Trace, node: Node, settings: CheckSettings) -> Comparison:
    base = trace.values[node.name]
    indices = _probe_indices(node, base.size, settings)
    plan = trace.graph.downstream(node, trace.output)
    modes = plan_modes(node, plan, trace.values)
    materialized = any(modes[m.name] == "value" and node in m.inputs for m in plan) or not plan
    per_item = max(
        [2 * base.size if materialized else base.size]  # a tangent starts from a basis row
        + [(2 if modes[m.name] == "value" else 1) * trace.values[m.name].size for m in plan]
    )
    probes = Probes(base)
    for flat in _chunks(indices, per_item):
        probes.put(flat, *probe_downstream(trace, node, plan, modes, flat, settings.eps))
    return probes.compare(trace.grads[node.name], settings)


def _pulled_back(
    trace: Trace, node: Node, settings: CheckSettings, estimates: dict[str, Estimate], relevant: set[str]
) -> Comparison | None:
    """Numeric dL/dnode from its consumers' numeric gradients, when every consumer allows it.

    By the chain rule, dL/dx = Σ over consumers c of J_cᵀ (dL/dc). A consumer affine in x
    (matmul, linear, add, sum, ...) pulls its numeric gradient back exactly through its adjoint;
    an elementwise consumer (relu, tanh, mul, ...) through its numeric diagonal, every element
    from two runs of the op. Either way the result equals probing x itself element by element,
    up to O(eps²), at the cost of one backward-sized operation instead of one probe per element.
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
        elif op is not None and op.diagonal:
            out = trace.values[consumer.name]
            part = probing.grouped_pull_back(op, position, m, xs, out, settings.eps, noise)
        else:
            return None
        if total is None:
            total = part
        else:
            total += part
    assert total is not None
    estimates[node.name] = total
    indices = _probe_indices(node, total.numeric.size, settings)
    return compare_estimate(trace.grads[node.name], total, indices, settings)


# ---------------------------------------------------------------- the local check
def _local_check(trace: Trace, node: Node, settings: CheckSettings, result: NodeCheck) -> None:
    """Judge the node's own backward rule with its actual upstream gradient held fixed."""
    assert node.op is not None
    if result.failure is not None:
        result.local_status = "mismatch"
        result.note = f"backward failed: {result.failure}"
        return
    statuses: list[Status] = []
    small = trace.jacobians.get(node.name) is not None
    for position in range(len(node.inputs)):
        try:
            _local_input(trace, node, settings, result, position, small)
        except ProbeError as exc:
            reason = userfaults.probe_failure(exc, node.name)
            sent = trace.contributions[node.name][position]
            result.local[position] = userfaults.unjudged(sent, reason, settings)
            if exc.op_at_fault:
                result.probe_error = exc.message
        statuses.append(result.local[position].status)
    if result.probe_error:
        result.note = f"the check cannot probe its forward: {result.probe_error}"
        result.local_status = "mismatch"
    else:
        result.local_status = worst(*statuses) if statuses else "ok"


def _local_input(
    trace: Trace, node: Node, settings: CheckSettings, result: NodeCheck, position: int, small: bool
) -> None:
    """The local check of what the node sends to one of its inputs."""
    assert node.op is not None
    values = trace.values
    u = trace.grads[node.name].astype(np.float64).reshape(-1)
    xs = [values[p.name] for p in node.inputs]
    x = xs[position]
    noise = noise_of(trace.graph.dtype)
    indices = _probe_indices(node, x.size, settings) if not small else np.arange(x.size)
    direct_work = len(indices) * (values[node.name].size + x.size)
    cheap = small or direct_work <= FAST_WORK
    fast = None if cheap else _fast_local(node, xs, position, u, values[node.name], settings, noise)
    if fast is not None:
        contribution = trace.contributions[node.name][position]
        comparison = compare_estimate(contribution, fast, indices, settings)
        if not probing.can_pull_back_affine(node.op, position):  # affine: exact, nothing to refine
            evaluate = reprobe.local_evaluator(trace, node, position)
            comparison = second_look(comparison, evaluate, settings, x.dtype, base=x)
        result.local[position] = comparison
        return
    if not cheap and not settings.exhaustive and settings.sample is None and direct_work > PROJECT_WORK:
        result.local[position] = _projected_local(trace, node, xs, position, u, settings)
        return
    probes = Probes(x)
    columns: list[tuple[Array, Array, Array]] = []
    exact = position in node.op.linear_in and node.op.tangent is not None and x.ndim < MAX_DIMS
    per_item = max(x.size, values[node.name].size) if exact else 2 * (x.size + values[node.name].size)
    for flat in _chunks(indices, per_item):
        d, level, straddle, jac, jac_noise = _probe_local(
            node, xs, position, flat, u, values[node.name], settings.eps
        )
        probes.put(flat, d, level, straddle)
        if small:
            columns.append((jac, jac_noise, np.broadcast_to(straddle[:, None], jac.shape)))
    comparison = probes.compare(trace.contributions[node.name][position], settings)
    evaluate = reprobe.local_evaluator(trace, node, position)
    comparison = second_look(comparison, evaluate, settings, x.dtype, base=x)
    result.local[position] = comparison
    if small:
        numeric, jac_level, kinks = (np.concatenate(part).T for part in zip(*columns, strict=True))
        result.numeric_jacobians[position] = numeric
        result.jacobian_checks[position] = compare(
            trace.jacobians[node.name][position], numeric, jac_level, kinks, settings
        )


def _projected_local(
    trace: Trace, node: Node, xs: list[Array], position: int, u: Array, settings: CheckSettings
) -> Comparison:
    out = trace.values[node.name]
    per_item = 2 * (xs[position].size + out.size)

    def probe_elements(flat: Array) -> tuple[Array, Array, Array]:
        parts = [
            _probe_local(node, xs, position, chunk, u, out, settings.eps)[:3]
            for chunk in _chunks(flat, per_item)
        ]
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))  # type: ignore[return-value]

    contribution = trace.contributions[node.name][position]
    evaluate = reprobe.local_evaluator(trace, node, position)
    return projection.projected_local(
        node,
        xs,
        position,
        u,
        out,
        contribution,
        settings,
        settings.eps,
        settings.seed,
        probe_elements,
        lambda c: second_look(c, evaluate, settings, xs[position].dtype, base=xs[position]),
    )


def _fast_local(
    node: Node,
    xs: list[Array],
    position: int,
    u: Array,
    out: Array,
    settings: CheckSettings,
    noise: probing.Noise,
) -> Estimate | None:
    """Every element's numeric local gradient at once, where the op allows it (see probing)."""
    op = node.op
    assert op is not None
    upstream = u.reshape(out.shape)
    if probing.can_pull_back_affine(op, position):
        return probing.affine_local(op, position, upstream, xs, noise)
    if op.diagonal:
        return probing.grouped_local(op, position, upstream, xs, out, settings.eps, noise)
    return None


def _dependent(op: Op, x: Array, out: Array, flat: Array, plus: Array, minus: Array) -> Array:
    """Per probe and output: does the output carry round-off into the difference? An output that
    does not depend on the probed element comes out bitwise equal both times and cancels exactly;
    one that does may come out equal too when its change is below its last bit (tanh near 1 in
    float32), and that is exactly where the round-off must be allowed for. For an elementwise op
    the outputs an element feeds are known; for other ops, those the probe moved stand in."""
    moved = plus != minus
    if not (op.diagonal or op.elementwise):
        return moved
    try:
        source = np.broadcast_to(np.arange(x.size).reshape(x.shape), out.shape).reshape(-1)
    except ValueError:
        return moved
    return moved | (source[None, :] == np.asarray(flat).reshape(-1, 1))


def _probe_local(
    node: Node, xs: list[Array], position: int, flat: Array, u: Array, out: Array, eps: float
) -> tuple[Array, Array, Array, Array, Array]:
    """Numeric d<u, op(x)>/dx_position at ``flat``, its noise and kinks; and the numeric
    Jacobian columns d op(x) / dx_position[flat] with their noise."""
    op = node.op
    assert op is not None
    count = len(flat)
    x = xs[position]
    if position in op.linear_in and op.tangent is not None and x.ndim < MAX_DIMS:
        tangent = op.tangent_of_basis(position, flat, xs).reshape(count, -1).astype(np.float64)
        numeric = tangent @ u
        half = np.full(count, 0.5)
        noise = round_off(np.abs(tangent) @ np.abs(u), half, x.dtype)
        jac_noise = round_off(np.abs(tangent), half[:, None], x.dtype)
        return numeric, noise, np.zeros(count, dtype=bool), tangent, jac_noise
    batch, step = perturbed(x, flat, eps), half_step(x, flat, eps)
    flags = [i == position for i in range(len(xs))]
    batched = [batch if f else v for v, f in zip(xs, flags, strict=True)]
    with np.errstate(all="ignore"):
        runs = as_batch(op.run_batched(batched, flags), out, 2 * count)
        runs = runs.reshape(2 * count, -1).astype(np.float64)
        plus, minus = runs[:count], runs[count:]
        numeric = ((plus - minus) @ u) / (2 * step)
        moved = (np.abs(plus) + np.abs(minus)) * _dependent(op, x, out, flat, plus, minus)
        noise = round_off(moved @ np.abs(u), step, x.dtype)
        jac = (plus - minus) / (2 * step)[:, None]
        jac_noise = round_off(np.abs(plus) + np.abs(minus), step[:, None], x.dtype)
        straddle = (
            straddles(op.kink_batched(batched, flags), count)
            if op.kink is not None
            else np.zeros(count, dtype=bool)
        )
    return numeric, noise, straddle, jac, jac_noise
