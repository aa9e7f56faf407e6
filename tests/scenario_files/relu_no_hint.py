"""A ReLU written by hand, without kink=

Some inputs sit at 0 or within eps of it; the check must find those kinks itself.
"""

import numpy as np

from tui_backprop import Graph, Node, custom_op, ops
from tui_backprop.layers import layer

BUGS = {"half-slope": "the backward passes 0.5 · upstream where x > 0"}


class ReLU:
    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, dy):
        return dy * (self.x > 0)


def build(g: Graph, bug: str | None = None) -> Node:
    x = g.input("x", [[0.0, 1.5, -2.0], [3e-7, -4e-7, 0.5]])
    w = g.param("w", [[1.0, -2.0, 0.5], [0.25, 1.0, -1.0]])
    slope = 0.5 if bug == "half-slope" else 1.0
    my_relu = custom_op("my_relu", lambda v: np.maximum(v, 0), lambda u, out, v: slope * u * (v > 0))
    a = my_relu(x, name="a")
    b = layer(ReLU(), ops.sub(x, g.input("shift", 0.5), name="xs"), "relu_layer")
    return ops.sum(ops.add(ops.mul(a, w, name="aw"), b, name="z"), name="L")
