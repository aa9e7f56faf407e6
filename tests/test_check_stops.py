"""The check stops when asked, between nodes and between probe chunks inside a node."""

from __future__ import annotations

from tui_backprop.check import budget
from tui_backprop.check.gradcheck import CheckSettings, iter_check
from tui_backprop.core import scenarios


def test_should_stop_is_asked_inside_nodes_and_ends_the_check_mid_node(monkeypatch):
    monkeypatch.setattr(budget, "BATCH_BUDGET", 64)  # many small chunks per node
    trace = scenarios.trace_scenario(scenarios.load("deep-mlp"))
    settings = CheckSettings.for_dtype("float64")
    asked = []

    def never() -> bool:
        asked.append(True)
        return False

    checked = list(iter_check(trace, settings, should_stop=never))
    assert len(checked) == len(trace.graph.nodes)
    assert len(asked) > 2 * len(checked)  # asked between chunks, not only between nodes

    calls = 0

    def on_the_second_call() -> bool:  # the first is before the first node, the second inside it
        nonlocal calls
        calls += 1
        return calls >= 2

    assert list(iter_check(trace, settings, should_stop=on_the_second_call)) == []
    assert calls == 2
    assert len(list(iter_check(trace, settings))) == len(trace.graph.nodes)  # nothing left behind
