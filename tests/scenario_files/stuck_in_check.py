"""Slow check

The op's forward runs once for the trace, then never returns during the numeric check.
"""

import time

import numpy as np

from tui_backprop import Graph, Node, Op, ops

CALLS = [0]


def stuck_forward(z):
    CALLS[0] += 1
    if CALLS[0] > 1:
        time.sleep(3600)
    return np.logaddexp(0.0, z)


def stuck_backward(upstream, out, z):
    return upstream / (1.0 + np.exp(-z))


stuck = Op("stuck", stuck_forward, stuck_backward, "{out} = stuck({0})")


def build(g: Graph, bug: str | None = None) -> Node:
    x = g.input("x", [[0.5, -1.0, 2.0]])
    return ops.sum(stuck(x, name="s"), name="L")
