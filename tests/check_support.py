"""What a passing check must also show before it means anything: every element was compared."""

from __future__ import annotations


def assert_every_element_compared(trace, result, below_noise: bool = False) -> None:
    """Every node's dL/dnode, and every gradient each op sends to each input, compared element by
    element (a check that compared nothing would also report no failure). ``below_noise``: a global
    gradient below the probe's round-off may be unchecked for that reason alone."""
    from tui_backprop.check.verdict import BELOW_NOISE

    for node in trace.graph.nodes:
        nc = result.nodes[node.name]
        assert nc.grad is not None, f"{node.name}: no global comparison ({nc.status}: {nc.note})"
        unseen = nc.grad.reasons.get(BELOW_NOISE, 0) if below_noise else 0
        assert set(nc.grad.reasons) <= {BELOW_NOISE}, (node.name, nc.grad.reasons)
        assert nc.grad.n_probed + unseen == trace.values[node.name].size, node.name
        if node.op is None:
            continue
        assert sorted(nc.local) == list(range(len(node.inputs))), f"{node.name}: inputs not checked"
        for position, comparison in nc.local.items():
            size = trace.values[node.inputs[position].name].size
            assert comparison.n_probed == size, f"{node.name} -> input {position}"


def counting_tanh():
    """An author's elementwise tanh and the list whose one number counts its forward's runs."""
    import numpy as np

    from tui_backprop import custom_op

    calls = [0]

    def forward(x):
        calls[0] += 1
        return np.tanh(x)

    return custom_op("my_tanh", forward, lambda u, out, x: u * (1 - out**2), elementwise=True), calls
