"""User code that misbehaves while the check probes it, reported on its node instead of raised.

Three kinds (README, "How the check works"): a forward that is not deterministic (dropout drawing
a fresh mask per call: the same inputs give different outputs, so no finite difference means
anything through it); a forward that raises on a probed value; an op whose own declaration is
wrong (``elementwise=True`` on a forward that does not broadcast over a batch, a ``kink=``
function that raises), which is the op's fault and blames it.
"""

from __future__ import annotations

import numpy as np

from tui_backprop.check.settings import CheckSettings
from tui_backprop.check.verdict import Comparison, Method, compare
from tui_backprop.core.errors import describe_exception
from tui_backprop.core.graph import Node
from tui_backprop.core.ops import ProbeError
from tui_backprop.core.trace import Trace

Array = np.ndarray
NOT_DETERMINISTIC = "forward is not deterministic: fix its seed or mask"


def unstable_forward(trace: Trace, node: Node) -> str | None:
    """Why the op node's forward is not deterministic (None when it is): run once more on the
    very same inputs, it gives another output, or raises."""
    assert node.op is not None
    before = trace.values[node.name]
    try:
        with np.errstate(all="ignore"):
            again = np.asarray(node.op.forward(*(trace.values[p.name].copy() for p in node.inputs)))
            again = again.astype(before.dtype)
    except Exception as exc:  # a stateful forward that fails the second time
        return f"{NOT_DETERMINISTIC} (run again on the same inputs it raised {describe_exception(exc)})"
    if again.shape != before.shape:
        return (
            f"{NOT_DETERMINISTIC} (run again on the same inputs it returned shape {list(again.shape)}, "
            f"first {list(before.shape)})"
        )
    with np.errstate(all="ignore"):
        differ = np.abs(again.astype(np.float64) - before.astype(np.float64))
    same = (again == before) | (np.isnan(again) & np.isnan(before))  # infinities included
    differ = np.where(same, 0.0, np.where(np.isnan(differ), np.inf, differ))
    largest = float(np.max(np.abs(before), where=np.isfinite(before), initial=0.0))
    limit = 4 * np.finfo(before.dtype).eps * max(largest, 1e-300)
    if np.all(differ <= limit):
        return None
    return (
        f"{NOT_DETERMINISTIC} (run twice on the same inputs, its outputs differ by up to "
        f"{float(np.max(differ)):.2g})"
    )


def unjudged(analytic: Array, reason: str, settings: CheckSettings, method: Method = "none") -> Comparison:
    """A comparison whose every element could not be judged, for ``reason``; ``method``: the one
    whose probes failed (``none``: none was tried)."""
    a = np.asarray(analytic, dtype=np.float64)
    nothing = np.full(a.shape, np.nan)
    comparison = compare(
        a,
        nothing,
        np.zeros(a.shape),
        np.zeros(a.shape, dtype=bool),
        settings,
        why={reason: np.ones(a.shape, bool)},
    )
    comparison.method = method
    return comparison


def probe_failure(exc: ProbeError, node_of_op: str) -> str:
    """The reason an element could not be judged when an op's code failed under a probe."""
    if exc.kind == "forward":
        return f"the forward of {node_of_op} raised on a probed value: {exc.message}"
    return f"{node_of_op} cannot be probed: {exc.message}"
