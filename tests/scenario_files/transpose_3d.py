"""Transpose of a 3-d tensor

x.T reverses all three axes; the check must not blame a correct transpose.
"""

import numpy as np

from tui_backprop import Graph, Node, ops


def build(g: Graph, bug: str | None = None) -> Node:
    x = g.param("x", np.random.default_rng(0).standard_normal((2, 3, 4)))
    t = ops.transpose(x, name="xT")
    return ops.sum(ops.square(ops.mul(t, g.input("w", np.arange(24.0).reshape(4, 3, 2)))), name="L")
