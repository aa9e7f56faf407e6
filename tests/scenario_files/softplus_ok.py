"""Softplus, my own op

A custom op with a hand-written backward that is right: L = Σ softplus(w·x).
"""

import numpy as np

from tui_backprop import Graph, Node, Op, ops


def softplus_forward(z):
    return np.logaddexp(0.0, z)


def softplus_backward(upstream, out, z):
    return upstream / (1.0 + np.exp(-z))


softplus = Op("softplus", softplus_forward, softplus_backward, "{out} = log(1 + e^{0})")


def build(g: Graph, bug: str | None = None) -> Node:
    x = g.input("x", [[0.5, -1.0, 2.0]])
    w = g.param("w", [[1.5, 0.3, -0.7]])
    z = ops.mul(w, x, name="z")
    return ops.sum(softplus(z, name="s"), name="L")
