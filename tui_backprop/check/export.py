"""The trace and its check as JSON: the contract other tools read (README, "Command line").

The Markdown handout of the same is a teaching tool: ``teach.handout``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from tui_backprop.check.gradcheck import Check, Comparison, NodeCheck
from tui_backprop.check.results import unchecked_reasons
from tui_backprop.core.scenarios import Scenario
from tui_backprop.core.trace import Trace

Json = Any


def number(x: float) -> float | str:
    """A float as JSON allows it: non-finite numbers become "NaN", "Infinity", "-Infinity"."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def array(a: np.ndarray) -> Json:
    """Scalars as plain numbers, arrays as nested lists."""
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return number(a)
    return [array(row) for row in a]


def comparison(c: Comparison, with_numeric: bool = True, sample: int | None = None) -> dict[str, Json]:
    """One tensor's comparison. Every element is counted once: ``compared`` (= ``probed``: its own
    numeric value), ``covered`` (by a projection only) or under a reason in ``unchecked``."""
    out: dict[str, Json] = {
        "status": c.status,
        "max_rel_err": number(c.max_rel_err),
        "max_abs_err": number(c.max_abs_err),
        "probed": c.n_probed,
        "compared": c.n_probed,
        "covered": c.n_covered,
        "mismatches": [list(i) for i in c.differing()[: c.n_mismatch]],
        "kinks": c.n_kink,
        "unchecked": unchecked_reasons(c, sample),
        **method(c),
    }
    if with_numeric:
        out["numeric_grad"] = array(c.numeric)
    return out


def method(c: Comparison) -> dict[str, Json]:
    """How the numeric side was had (README, "How the check works"): the method chosen for the
    tensor (check/choose.py), for random projections with the number of directions and the bound
    (a pull-back through an author's rule verified by projection carries that bound too)."""
    bound = {"bound": number(c.bound)} if c.bound is not None else {}
    if c.method == "projection":
        return {"method": "projection", "directions": c.directions, **bound}
    return {"method": c.method, **bound}  # a pull-back through an author's rule has the rule's


def local_method(comparisons: list[Comparison]) -> dict[str, Json]:
    """A node's local check in one word: ``projection`` (with its directions and bound) when an
    input was projected, else the method every input shares, else ``mixed`` (each input says)."""
    projected = [c for c in comparisons if c.method == "projection"]
    if projected:
        return method(projected[0])
    methods = {c.method for c in comparisons}
    return {"method": methods.pop() if len(methods) == 1 else "mixed"}


def node_check(
    nc: NodeCheck, trace: Trace, sample: int | None = None
) -> tuple[dict[str, Json], dict[str, Json] | None]:
    """The ``check`` and ``local_check`` objects of one node."""
    if nc.grad is not None:
        global_part = comparison(nc.grad, sample=sample)
    else:
        global_part = {"status": nc.status if nc.status != "mismatch" else "unchecked"}
    if nc.note:
        global_part["note"] = nc.note
    if nc.local_status is None:
        return global_part, None
    node = trace.graph[nc.name]
    local: dict[str, Json] = {"status": nc.local_status}
    if nc.judged_in:
        local["judged_in"] = nc.judged_in
    if nc.float32_digits is not None:
        local["float32_digits"] = nc.float32_digits
    if nc.local:
        local["max_rel_err"] = number(max(c.max_rel_err for c in nc.local.values()))
        local.update(local_method(list(nc.local.values())))
        local["inputs"] = {
            node.inputs[i].name: comparison(c, with_numeric=False, sample=sample) for i, c in nc.local.items()
        }
        for i, words in nc.diagnosis.items():
            local["inputs"][node.inputs[i].name]["diagnosis"] = words
        if nc.diagnosis:
            local["diagnosis"] = "; ".join(f"{node.inputs[i].name}: {w}" for i, w in nc.diagnosis.items())
    if nc.probe_error:
        local["error"] = nc.probe_error
    if nc.failure is not None:
        local["error"] = nc.failure.message
        if nc.failure.origin is not None:
            local["origin"] = str(nc.failure.origin)
    return global_part, local


def _jacobian(analytic: np.ndarray, checked: Comparison | None) -> dict[str, Json]:
    """A small op's local Jacobian (rows: outputs, columns: inputs) beside its numeric estimate."""
    out: dict[str, Json] = {"analytic": array(analytic), "numeric": None}
    if checked is not None:
        out["numeric"] = array(checked.numeric)
        out["status"] = checked.status
        out["mismatches"] = [list(i) for i in checked.differing()[: checked.n_mismatch]]
    return out


def trace_json(scenario: Scenario, bug: str | None, trace: Trace, check: Check) -> dict[str, Json]:
    """The JSON trace of README ("Command line"): scenario, output, nodes with their checks, steps, blame."""
    nodes = []
    for node in trace.graph.nodes:
        entry: dict[str, Json] = {
            "name": node.name,
            "kind": node.kind,
            "op": node.op.name if node.op else None,
            "inputs": [p.name for p in node.inputs],
        }
        if node.op is not None:
            entry["formula"] = node.formula()
        entry["shape"] = list(trace.values[node.name].shape)
        entry["value"] = array(trace.values[node.name])
        entry["grad"] = array(trace.grads[node.name])
        if node.name in trace.contributions:
            sums: dict[str, np.ndarray] = {}
            for parent, sent in zip(node.inputs, trace.contributions[node.name], strict=True):
                sums[parent.name] = sums.get(parent.name, 0) + sent
            entry["contributions"] = {k: array(v) for k, v in sums.items()}
        nc = check.nodes.get(node.name)
        if nc is not None:
            global_part, local = node_check(nc, trace, check.settings.sample)
            entry["check"] = global_part
            if local is not None:
                entry["local_check"] = local
            if node.name in trace.jacobians:
                entry["local_jacobian"] = {
                    node.inputs[i].name: _jacobian(jac, nc.jacobian_checks.get(i))
                    for i, jac in trace.jacobians[node.name].items()
                }
        nodes.append(entry)
    return {
        "scenario": scenario.slug,
        "title": scenario.title,
        "bug": bug,
        "dtype": trace.graph.dtype_name,
        "settings": {
            "eps": check.settings.eps,
            "rtol": check.settings.rtol,
            "atol": check.settings.atol,
            "sample": check.settings.sample,
        },
        "output": {"name": trace.output.name, "value": number(trace.loss)},
        "nodes": nodes,
        "steps": [{"index": s.index, "phase": s.phase, "node": s.node} for s in trace.steps],
        "blame": check.blame,
        "warnings": list(trace.graph.warnings),
        "status": check.verdict,
    }
