"""The ``direct`` estimator: every compared element probed by ±eps, all of a tensor's probes as
one batch (README, "How the check works").

Global: the node's value moved one element per batch row, the graph downstream re-run
(batchprobe.probe_downstream: by tangents while the ops are affine in it). Local: the op alone
re-run on its input moved one element per row (by its tangent where the op is affine in that
input), and for a small op its Jacobian column by column too.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from tui_backprop.check import budget
from tui_backprop.check.batchprobe import plan_modes, probe_downstream
from tui_backprop.check.jobs import GlobalJob, LocalJob
from tui_backprop.check.leancheck import compare_estimate
from tui_backprop.check.probing import Estimate, as_batch, half_step, perturbed, straddles
from tui_backprop.check.settings import CheckSettings
from tui_backprop.check.verdict import Comparison, Probes, compare, round_off
from tui_backprop.core.graph import Node
from tui_backprop.core.ops import Op
from tui_backprop.core.ops.base import MAX_DIMS
from tui_backprop.core.trace import Trace

Array = np.ndarray


# ---------------------------------------------------------------- global
def is_cheap(job: GlobalJob) -> bool:
    """Every element probed, whatever ``--sample`` says, still costs little: few ops downstream,
    and each probe re-runs ``elements`` downstream and starts from a row of the node's own size
    (a perturbed copy, or a tangent's basis row), both counted."""
    ops, elements, _ = job.reach[job.node.name]
    size = job.trace.values[job.node.name].size
    return ops <= budget.FAST_OPS and size * (elements + size) <= budget.FAST_WORK


def estimate_global(job: GlobalJob) -> Comparison:
    """Every element probed (the sampled ones under ``--sample``, unless every element is cheap:
    then all, so the nodes upstream can still pull this estimate back), suspects looked at again."""
    trace, node, settings, name = job.trace, job.node, job.settings, job.node.name
    if settings.sample is not None and is_cheap(job):
        whole = probe_global(trace, node, dataclasses.replace(settings, sample=None))
        job.estimates[name] = Estimate(whole.numeric, whole.noise, whole.kinks)
        indices = budget.probe_indices(node, whole.numeric.size, settings)
        grad = compare_estimate(job.analytic, job.estimates[name], indices, settings, below_noise=True)
    else:
        grad = probe_global(trace, node, settings)
        job.estimates[name] = Estimate(grad.numeric, grad.noise, grad.kinks)
    return job.second_look(grad)


def probe_global(trace: Trace, node: Node, settings: CheckSettings) -> Comparison:
    """dL/dnode compared at the probed elements (``--sample``: some of them)."""
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


# ---------------------------------------------------------------- local
def estimate_local(job: LocalJob) -> Comparison:
    """Every compared element of the input probed through the op alone (and, for a small op, its
    numeric Jacobian compared beside the analytic one), suspects looked at again."""
    node, position, x, out = job.node, job.position, job.x, job.out
    assert node.op is not None
    probes = Probes(x)
    columns: list[tuple[Array, Array, Array]] = []
    exact = position in node.op.linear_in and node.op.tangent is not None and x.ndim < MAX_DIMS
    per_item = max(x.size, out.size) if exact else 2 * (x.size + out.size)
    for flat in budget.chunks(job.indices, per_item):
        d, level, straddle, jac, jac_noise = probe_local(
            node, job.xs, position, flat, job.u, out, job.settings.eps
        )
        probes.put(flat, d, level, straddle)
        if job.small:
            columns.append((jac, jac_noise, np.broadcast_to(straddle[:, None], jac.shape)))
    comparison = job.second_look(probes.compare(job.contribution, job.settings))
    if job.small:
        numeric, jac_level, kinks = (np.concatenate(part).T for part in zip(*columns, strict=True))
        job.result.numeric_jacobians[position] = numeric
        job.result.jacobian_checks[position] = compare(
            job.trace.jacobians[node.name][position], numeric, jac_level, kinks, job.settings
        )
    return comparison


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


def probe_local(
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
