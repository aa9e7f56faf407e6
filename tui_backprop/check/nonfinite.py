"""Where a NaN or an infinity first appears in a trace, forward or backward, and who sent it."""

from __future__ import annotations

import numpy as np

from tui_backprop.core.graph import Node
from tui_backprop.core.trace import Trace, backward_origin

Array = np.ndarray


def nonfinite_origins(trace: Trace) -> dict[str, str]:
    """Nodes where a NaN or infinity first appears, forward or backward, with a sentence why."""
    origins: dict[str, str] = {}
    values = trace.values
    for node in trace.graph.nodes:
        if node.op is None:
            if not np.all(np.isfinite(values[node.name])):
                given = _first_nonfinite(values[node.name])
                origins[node.name] = f"the given value {given}; the ops it reaches pass it on"
        elif not np.all(np.isfinite(values[node.name])) and all(
            np.all(np.isfinite(values[p.name])) for p in node.inputs
        ):
            origins[node.name] = f"{node.formula()} {_first_nonfinite(values[node.name])} for finite inputs"
    for node in reversed(trace.graph.nodes):
        sent = trace.contributions.get(node.name)
        if sent is None or not np.all(np.isfinite(trace.grads[node.name])):
            continue
        if not all(np.all(np.isfinite(values[n.name])) for n in (node, *node.inputs)):
            continue  # a rule fed a non-finite value passes it on faithfully: its origin is blamed
        bad = [p.name for p, c in zip(node.inputs, sent, strict=True) if not np.all(np.isfinite(c))]
        if bad and node.name not in origins:
            where = backward_origin(node)
            written = f" ({where})" if where else ""
            origins[node.name] = f"its backward{written} sends a non-finite gradient to {', '.join(bad)}"
    return origins


def _first_nonfinite(x: Array) -> str:
    """``is -inf at [0]``: the first non-finite element, for a message a student can act on."""
    index = tuple(int(i) for i in np.argwhere(~np.isfinite(x))[0])
    value = x[index] if index else x
    where = f" at {list(index)}" if index else ""
    return f"is {float(value)}{where}"


def sends_nonfinite(trace: Trace, node: Node) -> bool:
    """A backward rule that turns a finite upstream gradient into a NaN or an infinity."""
    sent = trace.contributions.get(node.name)
    return (
        sent is not None
        and all_finite(trace.grads[node.name])
        and all(all_finite(trace.values[p.name]) for p in node.inputs)
        and not all(all_finite(c) for c in sent)
    )


def all_finite(x: Array) -> bool:
    return bool(np.all(np.isfinite(x)))
