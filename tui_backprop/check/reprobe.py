"""Probe single elements again, at any offsets: what the verdict needs for its suspects.

The first pass of the check (gradcheck) gets every element's central difference at ±eps as fast
as it can. An element that disagrees, or whose probe left the op's domain (NaN), is looked at
again here with other steps (README, "How the check works"): each row of a batch moves one
element of one tensor by its own offset, and the part of the graph that depends on it is re-run
with every op's plain batched forward. Slow per element, so only for the few suspects.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from tui_backprop.check import budget
from tui_backprop.check.batchprobe import run_downstream
from tui_backprop.core.graph import Node
from tui_backprop.core.trace import Trace

Array = np.ndarray

Evaluate = Callable[[Array, Array], tuple[Array, Array, Array]]
"""(flat indices, signed offsets) -> (D, M, t): per row D = F(x + t·e_flat) - F(x), M the
magnitude of the terms whose round-off D carries, t the offset after rounding to the dtype."""


def _moved(base: Array, flat: Array, offsets: Array) -> tuple[Array, Array]:
    """The base repeated once per row, one element moved per row; and the true offsets."""
    rows = len(flat)
    batch = np.empty((rows, base.size), dtype=base.dtype)
    batch[...] = base.reshape(-1)
    index = np.arange(rows)
    start = batch[index, flat].copy()
    batch[index, flat] = (start.astype(np.float64) + offsets).astype(base.dtype)
    true = batch[index, flat].astype(np.float64) - start.astype(np.float64)
    return batch.reshape((rows,) + base.shape), true


def _run(op, batched: list[Array], flags: list[bool], like: Array, rows: int) -> Array:
    with np.errstate(all="ignore"):
        result = np.asarray(op.run_batched(batched, flags))
    expected = (rows,) + like.shape
    if result.shape != expected:
        result = np.broadcast_to(result, expected)
    return result


def _in_chunks(evaluate_rows: Callable[[Array, Array], tuple[Array, Array, Array]], per_row: int) -> Evaluate:
    def evaluate(flat: Array, offsets: Array) -> tuple[Array, Array, Array]:
        size = max(1, 2 * budget.BATCH_BUDGET // max(per_row, 1))  # (no stop asked: few rows)
        parts = [evaluate_rows(flat[i : i + size], offsets[i : i + size]) for i in range(0, len(flat), size)]
        if not parts:
            empty = np.zeros(0)
            return empty, empty, empty
        return tuple(np.concatenate(p) for p in zip(*parts, strict=True))  # type: ignore[return-value]

    return evaluate


def global_evaluator(trace: Trace, node: Node) -> Evaluate:
    """D = L(x + t·e_k) - L(x) for the node x: the loss re-run downstream of it."""
    values = trace.values
    plan = trace.graph.downstream(node, trace.output)
    base = values[node.name]
    loss = float(values[trace.output.name].reshape(-1)[0])

    def rows(flat: Array, offsets: Array) -> tuple[Array, Array, Array]:
        batch, true = _moved(base, flat, offsets)
        out, _ = run_downstream(values, node, plan, trace.output, batch)
        with np.errstate(all="ignore"):
            return out - loss, np.abs(out), true

    per_row = base.size + sum(values[m.name].size for m in plan)
    return _in_chunks(rows, per_row)


def local_evaluator(trace: Trace, node: Node, position: int, upstream: Array | None = None) -> Evaluate:
    """D = ⟨u, op(x + t·e_k) - op(x)⟩ for input ``position`` of an op node, u its upstream (or
    ``upstream``)."""
    assert node.op is not None
    values = trace.values
    xs = [values[p.name] for p in node.inputs]
    out = values[node.name]
    out64 = out.astype(np.float64).reshape(-1)
    u = (trace.grads[node.name] if upstream is None else upstream).astype(np.float64).reshape(-1)
    flags = [i == position for i in range(len(xs))]
    # An output of a coupled op may move by less than its last bit: "unchanged" is not "exact".
    # Its round-off is counted root-sum-square (round-off errors do not conspire).
    coupled = not (node.op.elementwise or node.op.diagonal)
    unmoved = float(np.sqrt(np.sum((out64 * u) ** 2))) if coupled else 0.0

    def rows(flat: Array, offsets: Array) -> tuple[Array, Array, Array]:
        batch, true = _moved(xs[position], flat, offsets)
        batched = [batch if f else x for x, f in zip(xs, flags, strict=True)]
        runs = _run(node.op, batched, flags, out, len(flat)).reshape(len(flat), -1).astype(np.float64)
        with np.errstate(all="ignore"):
            diff = runs - out64
            moved = np.abs(runs) * (diff != 0)
            return diff @ u, moved @ np.abs(u) + unmoved, true

    return _in_chunks(rows, xs[position].size + out.size)
