"""The step-size sweep: how the central difference's error depends on eps, in float64 and float32.

For one element of one node, the numeric dL/dnode is taken by central differences at every eps
from 1e-1 down to 1e-12 and compared with the analytic gradient. Large eps: the error falls like
eps² (truncation, the Taylor terms the difference ignores); small eps: it grows like
machine-epsilon/eps (round-off, cancellation in F(x+h) - F(x-h)). The best eps sits between, and
float32's lies far to the right of float64's. A probe that straddles a kink (relu, |x|, max) is
flagged: there the difference measures a corner, not a derivative.

Each probe re-runs only the ops downstream of the node, unbatched (the sweep is tens of runs, not
thousands), so this module does not depend on the check's batching machinery.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tui_backprop.core.trace import Trace
from tui_backprop.teach.element import FocusLike, as_focus

Array = np.ndarray

EPS_VALUES = tuple(10.0 ** (-k / 2) for k in range(2, 25))
"""1e-1, 3.2e-2, 1e-2, … 1e-12: two points per decade."""
FLOOR = 1e-17
"""Relative errors below this (an exact agreement) are drawn on the floor of the plot."""


@dataclass(frozen=True)
class Curve:
    """One dtype's sweep: per eps the numeric estimate, its relative error and any kink crossed."""

    dtype: str
    analytic: float
    numeric: tuple[float, ...]
    rel_err: tuple[float, ...]
    kinks: tuple[bool, ...]

    @property
    def best(self) -> int | None:
        """Index of the eps with the smallest finite error (None when none is finite)."""
        errs = [e if np.isfinite(e) else np.inf for e in self.rel_err]
        k = int(np.argmin(errs))
        return k if np.isfinite(errs[k]) else None


@dataclass(frozen=True)
class Sweep:
    node: str
    index: tuple[int, ...]
    eps: tuple[float, ...]
    curves: tuple[Curve, ...]

    @property
    def label(self) -> str:
        return f"{self.node}[{', '.join(map(str, self.index))}]" if self.index else self.node

    @property
    def any_kink(self) -> bool:
        return any(any(c.kinks) for c in self.curves)


def sweep(
    traces: dict[str, Trace],
    name: str,
    index: tuple[int, ...] | None = None,
    eps_values=EPS_VALUES,
    *,
    focus: FocusLike = None,
) -> Sweep:
    """The sweep of ``name[index]`` in each given trace (keyed by dtype name, same graph built twice);
    without ``index``, of the element ``focus`` follows in ``name`` (``teach.element``)."""
    if index is None:
        index = as_focus(focus).index(next(iter(traces.values())), name)
    curves = []
    for dtype, trace in traces.items():
        numeric, kinks = [], []
        for eps in eps_values:
            value, kink = central_difference(trace, name, index, eps)
            numeric.append(value)
            kinks.append(kink)
        analytic = float(np.asarray(trace.grads[name], dtype=np.float64)[index])
        errors = tuple(relative_error(analytic, n) for n in numeric)
        curves.append(Curve(dtype, analytic, tuple(numeric), errors, tuple(kinks)))
    return Sweep(name, tuple(index), tuple(eps_values), tuple(curves))


def relative_error(analytic: float, numeric: float) -> float:
    """|a - n| / max(|a|, |n|), 0 when both are 0 (the check's own formula)."""
    if not (np.isfinite(analytic) and np.isfinite(numeric)):
        return float("nan")
    scale = max(abs(analytic), abs(numeric))
    return abs(analytic - numeric) / scale if scale > 0 else 0.0


def central_difference(trace: Trace, name: str, index: tuple[int, ...], eps: float) -> tuple[float, bool]:
    """(L(x+eps) - L(x-eps)) / 2h at one element, h the step after rounding to the dtype; and
    whether some op downstream crossed its kink between the two runs."""
    graph = trace.graph
    node = graph[name]
    base = trace.values[name]
    plan = graph.downstream(node, trace.output)
    runs = []
    kink_signs = []
    for sign in (1, -1):
        moved = base.copy()
        moved[index] = moved[index] + base.dtype.type(sign * eps)
        values = dict(trace.values)
        values[name] = moved
        signs = []
        with np.errstate(all="ignore"):
            for m in plan:
                assert m.op is not None
                inputs = [values[p.name] for p in m.inputs]
                values[m.name] = np.asarray(m.op.forward(*(x.copy() for x in inputs))).astype(base.dtype)
                if m.op.kink is not None:
                    signs.append(np.sign(np.asarray(m.op.kink(*inputs), dtype=np.float64)))
        runs.append((float(values[trace.output.name].reshape(-1)[0]), float(moved[index])))
        kink_signs.append(signs)
    (plus, x_plus), (minus, x_minus) = runs
    half = (x_plus - x_minus) / 2
    kink = any(not np.array_equal(a, b) for a, b in zip(*kink_signs, strict=True))
    with np.errstate(all="ignore"):
        numeric = (plus - minus) / (2 * half) if half != 0 else float("nan")
    return float(numeric), kink
