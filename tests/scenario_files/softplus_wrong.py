"""Softplus with a wrong backward

The derivative of log(1 + e^z) is σ(z); this backward uses e^z / (1 + e^z)² by mistake.
"""

import numpy as np

from tui_backprop import Graph, Node, Op, ops


def softplus_forward(z):
    return np.logaddexp(0.0, z)


def softplus_backward(upstream, out, z):
    e = np.exp(z)
    return upstream * e / (1.0 + e) ** 2


softplus = Op("softplus", softplus_forward, softplus_backward, "{out} = log(1 + e^{0})")


def build(g: Graph, bug: str | None = None) -> Node:
    x = g.input("x", [[0.5, -1.0, 2.0]])
    w = g.param("w", [[1.5, 0.3, -0.7]])
    z = ops.mul(w, x, name="z")
    return ops.sum(softplus(z, name="s"), name="L")
