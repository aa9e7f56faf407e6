"""The local check: an op's own backward rule, alone, against finite differences of the op.

With the node's actual upstream gradient u held fixed, the numeric gradient sent to input i is
d⟨u, op(x)⟩/dx_i (README, "How the check works"); per element where it is cheap (batched probes,
the adjoint of an affine op, column grouping of an elementwise one), by projection where it is not.
A node whose local check fails is *blamed*.
"""

from __future__ import annotations

import copy

import numpy as np

from tui_backprop.check import budget, colouring, probing, projection, reprobe, userfaults
from tui_backprop.check.batchprobe import noise_of
from tui_backprop.check.leancheck import compare_estimate
from tui_backprop.check.probing import Estimate, as_batch, half_step, perturbed, straddles
from tui_backprop.check.refine import second_look
from tui_backprop.check.results import NodeCheck
from tui_backprop.check.settings import CheckSettings
from tui_backprop.check.verdict import Comparison, Probes, Status, compare, round_off, worst
from tui_backprop.core.graph import Node
from tui_backprop.core.ops import Op, ProbeError
from tui_backprop.core.ops.base import MAX_DIMS
from tui_backprop.core.trace import Trace

Array = np.ndarray


UNIT_TRIGGER = 100.0
"""An upstream gradient whose largest element is below this many atol is too small to judge a
backward rule by (its errors fall under atol'): the rule is checked again with a random upstream
of order one."""


def local_check(
    trace: Trace,
    node: Node,
    settings: CheckSettings,
    result: NodeCheck,
    colourings: colouring.Found | None = None,
) -> None:
    """Judge the node's own backward rule with its actual upstream gradient held fixed; where that
    upstream is small, also with a seeded random upstream of order one (README: a wrong rule deep
    in a vanishing chain is blamed whatever reaches it). ``colourings``: the colourings found,
    kept for the global check's pull-back."""
    assert node.op is not None
    colourings = {} if colourings is None else colourings
    if result.failure is not None:
        result.local_status = "mismatch"
        result.note = f"backward failed: {result.failure}"
        return
    small = trace.jacobians.get(node.name) is not None
    upstream = trace.grads[node.name]
    sent = trace.contributions[node.name]
    trace, settings, result.judged_in, wide = _judge_in_float64(trace, node, settings)
    if wide is not None:
        result.float32_digits = float32_digits(sent, wide)
        upstream, sent = trace.grads[node.name], wide
    for position in range(len(node.inputs)):
        result.local[position] = _judged_input(
            trace, node, settings, result, position, upstream, sent, small, colourings
        )
    if not result.probe_error and _unit_scale_wanted(upstream, result, UNIT_TRIGGER * settings.atol):
        _unit_scale(trace, node, settings, result, colourings)
    if result.probe_error:
        result.note = f"the check cannot probe its forward: {result.probe_error}"
        result.local_status = "mismatch"
    else:
        statuses: list[Status] = [c.status for c in result.local.values()]
        result.local_status = worst(*statuses) if statuses else "ok"


def _judge_in_float64(
    trace: Trace, node: Node, settings: CheckSettings
) -> tuple[Trace, CheckSettings, str, tuple[Array, ...] | None]:
    """A float32 backward rule is judged in float64 where the op's code allows it (README): the
    same forward and backward run on the inputs cast to float64, judged with float64's settings, so
    float32's round-off can neither hide a wrong rule nor blame a right one. What float32 itself
    loses is measured apart (``float32_digits``). Where the code keeps or needs float32, the rule
    is judged in float32, and ``judged_in`` says why."""
    from tui_backprop.core.trace import BackwardRuleError, call_backward, local_jacobians

    if trace.graph.dtype != np.float32:
        return trace, settings, trace.graph.dtype_name, None
    assert node.op is not None
    xs = [trace.values[p.name].astype(np.float64) for p in node.inputs]
    out = trace.values[node.name]
    try:
        with np.errstate(all="ignore"):
            wide = np.asarray(node.op.forward(*(x.copy() for x in xs)))
    except Exception:  # the author's forward: it may insist on float32
        return trace, settings, "float32 (its forward fails on float64 inputs)", None
    if wide.dtype != np.float64 or wide.shape != out.shape:
        return trace, settings, "float32 (its forward does not stay float64)", None
    if not np.array_equal(np.isfinite(wide), np.isfinite(out)):
        return trace, settings, "float32 (its forward is not finite in float64 where it is in float32)", None
    upstream = trace.grads[node.name].astype(np.float64)
    try:
        sent = call_backward(node, upstream, wide, xs)
    except BackwardRuleError:
        return trace, settings, "float32 (its backward fails on float64 inputs)", None
    if any(g.dtype != np.float64 for g in sent):
        return trace, settings, "float32 (its backward does not stay float64)", None
    view = copy.copy(trace)
    view.values = {**trace.values, **{p.name: x for p, x in zip(node.inputs, xs, strict=True)}}
    view.values[node.name] = wide
    view.grads = {**trace.grads, node.name: upstream}
    view.contributions = {**trace.contributions, node.name: sent}
    if node.name in trace.jacobians:
        view.jacobians = {**trace.jacobians, node.name: local_jacobians(node, wide, xs)}
    wider = settings.in_float64()
    return view, wider, "float64", sent


def float32_digits(narrow: tuple[Array, ...], wide: tuple[Array, ...]) -> float:
    """How many significant digits the float32 run keeps of what the rule sends, against the same
    rule in float64 (at most float32's 7): the least over the inputs, relative to each tensor's
    largest gradient."""
    kept = 7.0
    for a, b in zip(narrow, wide, strict=True):
        b = np.asarray(b, dtype=np.float64)
        scale = float(np.max(np.abs(b), initial=0.0))
        if scale == 0 or not np.all(np.isfinite(b)):
            continue
        error = float(np.max(np.abs(np.asarray(a, dtype=np.float64) - b))) / scale
        kept = min(kept, -np.log10(error) if error > 0 else 7.0)
    return round(max(kept, 0.0), 1)


def _judged_input(
    trace: Trace,
    node: Node,
    settings: CheckSettings,
    result: NodeCheck,
    position: int,
    upstream: Array,
    sent: tuple[Array, ...],
    small: bool,
    colourings: colouring.Found,
) -> Comparison:
    """What the node sends input ``position`` for ``upstream``, judged; a probe the op's code
    refuses leaves it unjudged (and blames the op when its own declaration was false)."""
    try:
        return _local_input(
            trace, node, settings, result, position, small, upstream, sent[position], colourings
        )
    except ProbeError as exc:
        if exc.op_at_fault:
            result.probe_error = exc.message
        return userfaults.unjudged(sent[position], userfaults.probe_failure(exc, node.name), settings)


def _unit_scale_wanted(upstream: Array, result: NodeCheck, below: float) -> bool:
    finite = np.abs(upstream[np.isfinite(upstream)])
    scale = float(finite.max()) if finite.size else 0.0
    return scale < below and not any(c.status == "mismatch" for c in result.local.values())


def _unit_scale(
    trace: Trace, node: Node, settings: CheckSettings, result: NodeCheck, colourings: colouring.Found
) -> None:
    """The backward rule again with a seeded random upstream of order one. Where it disagrees, that
    comparison replaces the one made with the real (tiny) upstream, and the note says so."""
    from tui_backprop.core.trace import BackwardRuleError, call_backward

    out = trace.values[node.name]
    rng = np.random.default_rng([settings.seed, node.index, 1])
    upstream = rng.standard_normal(out.shape).astype(out.dtype)
    xs = [trace.values[p.name] for p in node.inputs]
    try:
        sent = call_backward(node, upstream, out, xs)
    except BackwardRuleError as exc:  # it ran with the real upstream: what it sent stands unjudged
        reason = f"its backward raised with a random upstream of order one: {exc.message}"
        for position, sent_real in enumerate(trace.contributions[node.name]):
            result.local[position] = userfaults.unjudged(sent_real, reason, settings)
        return
    real = float(np.max(np.abs(trace.grads[node.name]), initial=0.0))
    for position in range(len(node.inputs)):
        unit = _judged_input(trace, node, settings, result, position, upstream, sent, False, colourings)
        if unit.status == "mismatch":
            result.local[position] = unit
            result.note = (
                f"found with a random upstream of order one (the real upstream is at most {real:.1e}, "
                "too small to show the error)"
            )


def _local_input(
    trace: Trace,
    node: Node,
    settings: CheckSettings,
    result: NodeCheck,
    position: int,
    small: bool,
    upstream: Array,
    contribution: Array,
    colourings: colouring.Found,
) -> Comparison:
    """The local check of what the node sends to one of its inputs, for ``upstream`` (the Jacobian
    of a small op too, when ``small``)."""
    assert node.op is not None
    values = trace.values
    u = upstream.astype(np.float64).reshape(-1)
    xs = [values[p.name] for p in node.inputs]
    x = xs[position]
    noise = noise_of(x.dtype)
    indices = budget.probe_indices(node, x.size, settings) if not small else np.arange(x.size)
    direct_work = len(indices) * (values[node.name].size + x.size)
    cheap = small or direct_work <= budget.FAST_WORK
    fast = None
    if not cheap:
        fast = _fast_local(node, xs, position, u, values[node.name], settings, noise, colourings)
    if fast is not None:
        comparison = compare_estimate(contribution, fast, indices, settings)
        if not probing.can_pull_back_affine(node.op, position):  # affine: exact, nothing to refine
            evaluate = reprobe.local_evaluator(trace, node, position, upstream)
            comparison = second_look(comparison, evaluate, settings, x.dtype, base=x)
        return comparison
    above = budget.project_above(budget.loops(node.op))
    projects = not settings.exhaustive and settings.sample is None and direct_work > above
    if not cheap and projects:
        return _projected_local(trace, node, xs, position, u, settings, upstream, contribution)
    probes = Probes(x)
    columns: list[tuple[Array, Array, Array]] = []
    exact = position in node.op.linear_in and node.op.tangent is not None and x.ndim < MAX_DIMS
    per_item = max(x.size, values[node.name].size) if exact else 2 * (x.size + values[node.name].size)
    for flat in budget.chunks(indices, per_item):
        d, level, straddle, jac, jac_noise = _probe_local(
            node, xs, position, flat, u, values[node.name], settings.eps
        )
        probes.put(flat, d, level, straddle)
        if small:
            columns.append((jac, jac_noise, np.broadcast_to(straddle[:, None], jac.shape)))
    comparison = probes.compare(contribution, settings)
    evaluate = reprobe.local_evaluator(trace, node, position, upstream)
    comparison = second_look(comparison, evaluate, settings, x.dtype, base=x)
    if small:
        numeric, jac_level, kinks = (np.concatenate(part).T for part in zip(*columns, strict=True))
        result.numeric_jacobians[position] = numeric
        result.jacobian_checks[position] = compare(
            trace.jacobians[node.name][position], numeric, jac_level, kinks, settings
        )
    return comparison


def _projected_local(
    trace: Trace,
    node: Node,
    xs: list[Array],
    position: int,
    u: Array,
    settings: CheckSettings,
    upstream: Array,
    contribution: Array,
) -> Comparison:
    out = trace.values[node.name]
    per_item = 2 * (xs[position].size + out.size)

    def probe_elements(flat: Array) -> tuple[Array, Array, Array]:
        parts = [
            _probe_local(node, xs, position, chunk, u, out, settings.eps)[:3]
            for chunk in budget.chunks(flat, per_item)
        ]
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))  # type: ignore[return-value]

    evaluate = reprobe.local_evaluator(trace, node, position, upstream)
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
    colourings: colouring.Found,
) -> Estimate | None:
    """Every element's numeric local gradient at once, where the op allows it (see probing and
    colouring)."""
    op = node.op
    assert op is not None
    upstream = u.reshape(out.shape)
    if probing.can_pull_back_affine(op, position):
        return probing.affine_local(op, position, upstream, xs, noise)
    if op.diagonal or op.elementwise:
        return probing.grouped_local(op, position, upstream, xs, out, settings.eps, noise)
    found = colouring.cached(colourings, node, xs, position, out)
    if found is None:
        return None
    return colouring.local_estimate(op, xs, position, upstream, out, found, settings.eps, noise)


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
