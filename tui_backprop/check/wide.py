"""A float32 graph's global check judged against float64, where its code runs in float64.

The global check of a float32 run probes the loss in float32: a step of 1e-3 next to 1e4 is lost
in rounding (false kinks on a softmax of such inputs), and a loss that cancels (x² - (x+1)² at
1e4) has no digits left to difference. Where every op's forward runs in float64 (its inputs cast
up, its result float64 of the same shape, finite where the float32 one is), the loss is probed in
float64 instead: the same code's forward and backward run in float64, judged with float64's
settings, as the local checks are (local.py). What float32 itself loses is its own finding
(``NodeCheck.float32_digits``), not a bug (README, "How the check works"). Where the code forces
float32, the global check stays in float32 and ``Check.global_judged_in`` says why.
"""

from __future__ import annotations

import copy

import numpy as np

from tui_backprop.check.settings import CheckSettings
from tui_backprop.core.trace import BackwardRuleError, Trace, call_backward

Array = np.ndarray


def widened(trace: Trace, settings: CheckSettings) -> tuple[Trace | None, CheckSettings, str]:
    """(a float64 view of the float32 trace for the global check, its settings, what was done); the
    view is None for a float64 trace and where the code forces float32."""
    if trace.graph.dtype != np.float32:
        return None, settings, trace.graph.dtype_name
    relevant = trace.graph.ancestors(trace.output)
    values: dict[str, Array] = {}
    for node in trace.graph.nodes:
        narrow = trace.values[node.name]
        if node.op is None or node.name not in relevant:
            values[node.name] = narrow.astype(np.float64)
            continue
        try:
            with np.errstate(all="ignore"):
                wide = np.asarray(node.op.forward(*(values[p.name].copy() for p in node.inputs)))
        except Exception:  # the author's forward: it may insist on float32
            return None, settings, f"float32 (the forward of {node.name} fails on float64 inputs)"
        if wide.dtype != np.float64 or wide.shape != narrow.shape:
            return None, settings, f"float32 (the forward of {node.name} does not stay float64)"
        if not np.array_equal(np.isfinite(wide), np.isfinite(narrow)):
            return None, settings, f"float32 (the forward of {node.name} is not finite where float32 is)"
        values[node.name] = wide
    grads = {name: np.zeros_like(v) for name, v in values.items()}
    grads[trace.output.name] = np.ones_like(values[trace.output.name])
    for node in reversed(trace.graph.nodes):
        if node.op is None or node.name not in relevant:
            continue
        try:
            sent = call_backward(
                node, grads[node.name], values[node.name], [values[p.name] for p in node.inputs]
            )
        except BackwardRuleError:
            return None, settings, f"float32 (the backward of {node.name} fails on float64 inputs)"
        if any(g.dtype != np.float64 for g in sent):
            return None, settings, f"float32 (the backward of {node.name} does not stay float64)"
        for parent, contribution in zip(node.inputs, sent, strict=True):
            grads[parent.name] = grads[parent.name] + contribution
    graph = copy.copy(trace.graph)
    graph.dtype, graph.dtype_name = np.dtype(np.float64), "float64"
    view = copy.copy(trace)
    view.graph, view.values, view.grads = graph, values, grads
    wider = settings.in_float64()
    return view, wider, "float64"


def narrowed(trace: Trace, settings: CheckSettings) -> tuple[Trace, CheckSettings, str] | None:
    """A float32 view of a float64 trace one of whose ops computes in float32 (its forward returns
    float32 on float64 inputs), with float32's settings where the float64 defaults were kept, and
    why; None when every forward stays float64.

    Such an op's output carries float32's round-off, which a float64 probe (a step of 1e-6) reads
    as a gradient: a right rule would be blamed with made-up numbers. The run is judged as the
    float32 run it is (README, "How the check works")."""
    if trace.graph.dtype != np.float64 or not trace.narrowed:
        return None
    relevant = trace.graph.ancestors(trace.output)
    narrow = [name for name in trace.narrowed if name in relevant]
    if not narrow:
        return None
    why = f"float32 (the forward of {narrow[0]} returns {trace.narrowed[narrow[0]]} on float64 inputs)"
    graph = copy.copy(trace.graph)
    graph.dtype, graph.dtype_name = np.dtype(np.float32), "float32"
    view = copy.copy(trace)
    view.graph = graph
    view.values = {name: v.astype(np.float32) for name, v in trace.values.items()}
    view.grads = {name: g.astype(np.float32) for name, g in trace.grads.items()}
    view.contributions = {
        name: tuple(c.astype(np.float32) for c in sent) for name, sent in trace.contributions.items()
    }
    kept = CheckSettings.for_dtype("float64")
    if (settings.eps, settings.rtol, settings.atol) == (kept.eps, kept.rtol, kept.atol):
        settings = CheckSettings.for_dtype(
            "float32",
            sample=settings.sample,
            seed=settings.seed,
            exhaustive=settings.exhaustive,
            lean=settings.lean,
        )
    return view, settings, why
