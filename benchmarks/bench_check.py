"""The full check of deep-mlp against a naive per-element central-difference loop, in one run.

The naive loop is the textbook one (CS231n's eval_numerical_gradient): for every element of every
node, move it by ±eps, re-run the ops downstream of that node one Python call at a time, and take
the difference of the two losses. It computes only the global numeric gradients; the full check
also runs every local check, so the ratio is conservative. Target: the full check at least 5x
faster than the naive loop.

``--report``: the text report of a 1,003-node chain (250 linear + tanh layers) against its check,
with the report's own line layout and with Rich's table layout (what it used before), best of 5
each in one run. Target (issue 15): the report within 0.25x of the check.

    python benchmarks/bench_check.py [SCENARIO]
    python benchmarks/bench_check.py --report
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from tui_backprop.check.gradcheck import CheckSettings, check
from tui_backprop.core import scenarios
from tui_backprop.core.errors import ScenarioError
from tui_backprop.core.trace import Trace


def naive_numeric_grads(trace: Trace, eps: float) -> dict[str, np.ndarray]:
    graph, output = trace.graph, trace.output
    grads = {}
    for node in graph.nodes:
        plan = graph.downstream(node, output)
        base = trace.values[node.name]
        grad = np.zeros(base.shape)
        values = dict(trace.values)
        moved = base.copy()
        values[node.name] = moved
        for k in np.ndindex(base.shape):
            losses = []
            for sign in (1.0, -1.0):
                moved[k] = base[k] + sign * eps
                for m in plan:
                    values[m.name] = m.op.forward(*(values[p.name] for p in m.inputs))
                losses.append(float(values[output.name]))
            moved[k] = base[k]
            grad[k] = (losses[0] - losses[1]) / (2 * eps)
        grads[node.name] = grad
    return grads


def best(run, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return min(times)


def report_ratio() -> None:
    import io
    from pathlib import Path

    from rich.console import Console

    from tui_backprop import Graph
    from tui_backprop.cli import report
    from tui_backprop.core.trace import run

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from bench_scale import build_chain

    class Chain:
        slug, title = "chain-250", "250 linear + tanh layers"

    g = Graph()
    trace = run(g, build_chain(g, 250))
    settings = CheckSettings.for_dtype("float64", lean=True)  # as `check`'s text runs it
    result = check(trace, settings)

    def console() -> Console:
        return Console(file=io.StringIO(), width=120, markup=False, emoji=False, highlight=False)

    checking = best(lambda: check(trace, settings))
    lines = best(lambda: report.print_check(console(), Chain(), None, trace, result))
    original = report.node_table
    report.node_table = lambda _console, title, caption, rows: report.rich_table(title, caption, rows)
    try:
        rich = best(lambda: report.print_check(console(), Chain(), None, trace, result))
    finally:
        report.node_table = original
    print(f"graph             chain-250 ({len(trace.graph.nodes)} nodes)")
    print(f"check             {checking * 1000:8.1f} ms  (best of 5, lean as check's text runs it)")
    print(
        f"report, lines     {lines * 1000:8.1f} ms  ratio {lines / checking:.2f}x the check (target <= 0.25x)"
    )
    print(
        f"report, Rich      {rich * 1000:8.1f} ms  ratio {rich / checking:.2f}x the check (the table before)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "scenario", nargs="?", default="deep-mlp", help="a built-in or a .py file (default deep-mlp)"
    )
    parser.add_argument(
        "--report", action="store_true", help="time the text report of a 1,003-node chain instead"
    )
    args = parser.parse_args()
    if args.report:
        report_ratio()
        return
    slug = args.scenario
    try:
        trace = scenarios.trace_scenario(scenarios.load(slug))
    except ScenarioError as error:
        parser.error(str(error))
    settings = CheckSettings.for_dtype("float64")
    elements = sum(trace.values[n.name].size for n in trace.graph.nodes)

    fast_times = []
    for _ in range(3):
        start = time.perf_counter()
        result = check(trace, settings)
        fast_times.append(time.perf_counter() - start)
    fast = min(fast_times)

    start = time.perf_counter()
    naive = naive_numeric_grads(trace, settings.eps)
    slow = time.perf_counter() - start

    worst = max(float(np.max(np.abs(result.nodes[name].grad.numeric - naive[name]))) for name in naive)
    print(f"scenario          {slug} ({elements} elements over {len(trace.graph.nodes)} nodes)")
    print(f"full check        {fast * 1000:8.1f} ms  (best of 3; global and local checks, every node)")
    print(f"naive loop        {slow * 1000:8.1f} ms  (global numeric gradients only, one element at a time)")
    print(f"max |difference| between the two numeric gradients: {worst:.2e}")
    print(f"ratio naive / full check: {slow / fast:.1f}x  (target >= 5x)")


if __name__ == "__main__":
    main()
