"""The local check: an op's own backward rule, alone, against finite differences of the op.

With the node's actual upstream gradient u held fixed, the numeric gradient sent to input i is
d⟨u, op(x)⟩/dx_i (README, "How the check works"), had per input by the method choose picks
(probes, an affine op's adjoint, colours, projection). A node whose local check fails is *blamed*.
"""

from __future__ import annotations

import copy

import numpy as np

from tui_backprop.check import choose, colouring, userfaults
from tui_backprop.check.jobs import LocalJob
from tui_backprop.check.results import NodeCheck
from tui_backprop.check.settings import CheckSettings
from tui_backprop.check.verdict import Comparison, Status, worst
from tui_backprop.core.graph import Node
from tui_backprop.core.ops import ProbeError
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
    """What the node sends input ``position`` for ``upstream``, judged by the method chosen for it
    (choose); a probe the op's code refuses leaves it unjudged (and blames the op when its own
    declaration was false)."""
    job = LocalJob(trace, node, settings, result, position, small, upstream, sent[position], colourings)
    try:
        return choose.estimate_local(job)
    except ProbeError as exc:
        if exc.op_at_fault:
            result.probe_error = exc.message
        reason = userfaults.probe_failure(exc, node.name)
        return userfaults.unjudged(sent[position], reason, settings, job.method)


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
