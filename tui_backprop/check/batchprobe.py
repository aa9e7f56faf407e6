"""The graph downstream of a node, run on a batch of its values: the one runner every global probe
goes through (the first pass here, projections, the second look at suspects).

``run_downstream`` runs every op's batched forward on a batch of the node's values and returns the
loss per row. ``probe_downstream`` is the first pass: ±eps at one element per row, and while the
ops downstream are affine in the perturbed value the perturbation travels exactly as a tangent
('delta'); full evaluations ('value') start at the first nonlinear op. Batches are released as soon
as no op still to run reads them.
"""

from __future__ import annotations

import numpy as np

from tui_backprop.check import budget, probing
from tui_backprop.check.probing import as_batch, half_step, perturbed, straddles
from tui_backprop.check.verdict import round_off
from tui_backprop.core.graph import Node
from tui_backprop.core.ops.base import MAX_DIMS
from tui_backprop.core.trace import Trace

Array = np.ndarray


def downstream_reach(trace: Trace, relevant: set[str]) -> dict[str, tuple[int, int, int]]:
    """Per node, the ops and the elements downstream of it that a direct probe re-runs, and how
    many of those ops run a batch one entry at a time (``budget.loops``): an upper bound, a node
    reached along several paths counts once per path."""
    cap = 1 << 40
    reach: dict[str, tuple[int, int, int]] = {}
    for node in reversed(trace.graph.nodes):
        ops = elements = loops = 0
        for consumer, _ in trace.consumers[node.name]:
            if consumer.name in relevant:
                more_ops, more_elements, more_loops = reach[consumer.name]
                ops += 1 + more_ops
                elements += trace.values[consumer.name].size + more_elements
                loops += more_loops + (1 if budget.loops(consumer.op) else 0)
        reach[node.name] = (min(ops, cap), min(elements, cap), min(loops, cap))
    return reach


def noise_of(dtype: np.dtype) -> probing.Noise:
    return lambda magnitude, step: round_off(magnitude, step, dtype)


def run_downstream(
    values: dict[str, Array], node: Node, plan: list[Node], output: Node, batch: Array, pairs: bool = False
) -> tuple[Array, Array]:
    """The loss (float64, one per row) with the node's value replaced by each row of ``batch``, and,
    when ``pairs`` (rows: +steps then -steps), per pair whether the two runs fell on two sides of
    some op's kink (relu at 0)."""
    rows = len(batch)
    batches = {node.name: batch}
    readers = {m.name: sum(1 for n in plan for p in n.inputs if p.name == m.name) for m in plan}
    kinked = np.zeros(rows // 2 if pairs else 0, dtype=bool)
    for m in plan:
        assert m.op is not None
        flags = [p.name in batches for p in m.inputs]
        xs = [batches[p.name] if f else values[p.name] for p, f in zip(m.inputs, flags, strict=True)]
        with np.errstate(all="ignore"):
            batches[m.name] = as_batch(m.op.run_batched(xs, flags), values[m.name], rows)
            if pairs and m.op.kink is not None:
                kinked |= straddles(m.op.kink_batched(xs, flags), rows // 2)
        for p in m.inputs:  # release what no op still to run reads
            if p.name in readers:
                readers[p.name] -= 1
                if readers[p.name] == 0 and p.name != output.name:
                    batches.pop(p.name, None)
    return batches[output.name].reshape(rows).astype(np.float64), kinked


def plan_modes(node: Node, plan: list[Node], values: dict[str, Array] | None = None) -> dict[str, str]:
    """'basis' for the probed node, 'delta' while ops stay affine in it, 'value' after."""
    modes = {node.name: "basis"}
    for m in plan:
        assert m.op is not None
        hit = [i for i, p in enumerate(m.inputs) if p.name in modes]
        exact = len(hit) == 1 and modes[m.inputs[hit[0]].name] != "value"
        if values is not None:  # a tangent batch adds an axis: it must stay within numpy's limit
            exact = exact and max(np.ndim(values[p.name]) for p in [m, *m.inputs]) < MAX_DIMS
        if exact and hit[0] in m.op.linear_in and m.op.tangent is not None:
            modes[m.name] = "delta"
        else:
            modes[m.name] = "value"
    return modes


def probe_downstream(
    trace: Trace, node: Node, plan: list[Node], modes: dict[str, str], flat: Array, eps: float
) -> tuple[Array, Array, Array]:
    """Numeric dL/dnode at the ``flat`` elements: (estimate, noise level, kink straddled)."""
    values = trace.values
    count = len(flat)
    deltas: dict[str, Array] = {}
    batches: dict[str, Array] = {}
    step = half_step(values[node.name], flat, eps)
    straddle = np.zeros(count, dtype=bool)
    readers = {n.name: 0 for n in plan}
    for m in plan:
        for p in m.inputs:
            if p.name in readers:
                readers[p.name] += 1
    readers[trace.output.name] = readers.get(trace.output.name, 0) + 1

    def release(m: Node) -> None:
        """Drop what no op still to run reads: memory follows the live batches, not the graph."""
        for p in m.inputs:
            if p.name in readers:
                readers[p.name] -= 1
                if readers[p.name] == 0:
                    batches.pop(p.name, None)
                    deltas.pop(p.name, None)

    def batch_of(name: str) -> Array:
        """A downstream value as a (2·count)-batch: +eps runs then -eps runs."""
        if name not in batches:
            base = values[name]
            if name == node.name:
                batches[name] = perturbed(base, flat, eps)
            else:
                shift = (eps * deltas[name]).astype(base.dtype)
                batches[name] = np.concatenate([base + shift, base - shift])
        return batches[name]

    for m in plan:
        assert m.op is not None
        xs = [values[p.name] for p in m.inputs]
        if modes[m.name] == "delta":
            position = next(i for i, p in enumerate(m.inputs) if p.name in modes and p.name != m.name)
            parent = m.inputs[position].name
            if parent == node.name:
                deltas[m.name] = m.op.tangent_of_basis(position, flat, xs)
            else:
                deltas[m.name] = m.op.tangent_batched(position, deltas[parent], xs)
            release(m)
            continue
        flags = [p.name in batches or p.name in deltas or p.name == node.name for p in m.inputs]
        batched = [batch_of(p.name) if f else x for p, f, x in zip(m.inputs, flags, xs, strict=True)]
        with np.errstate(all="ignore"):
            batches[m.name] = as_batch(m.op.run_batched(batched, flags), values[m.name], 2 * count)
            if m.op.kink is not None:
                straddle |= straddles(m.op.kink_batched(batched, flags), count)
        del batched
        release(m)
    out = batch_of(trace.output.name).reshape(2 * count).astype(np.float64)
    plus, minus = out[:count], out[count:]
    with np.errstate(all="ignore"):
        numeric = (plus - minus) / (2 * step)
        noise = round_off(np.abs(plus) + np.abs(minus), step, trace.graph.dtype)
    return numeric, noise, straddle
