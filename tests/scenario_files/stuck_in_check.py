"""Slow check

The op's forward runs for the trace (and for a rerun at the same point), then never returns
once the numeric check probes it at a perturbed value.
"""

import time

import numpy as np

from tui_backprop import Graph, Node, Op, ops

X = [[0.5, -1.0, 2.0]]


def stuck_forward(z):
    if np.shape(z) != np.shape(X) or not np.array_equal(z, X):
        time.sleep(3600)
    return np.logaddexp(0.0, z)


def stuck_backward(upstream, out, z):
    return upstream / (1.0 + np.exp(-z))


stuck = Op("stuck", stuck_forward, stuck_backward, "{out} = stuck({0})")


def build(g: Graph, bug: str | None = None) -> Node:
    x = g.input("x", X)
    return ops.sum(stuck(x, name="s"), name="L")
