"""A layer whose gradients are all small

The loss is scaled by 1e-5, so every gradient is below float32's atol (1e-4); the bug makes the
tanh backward 1.5x too large. Judged against the tensor's own scale, it is caught in float32.
"""

import numpy as np

from tui_backprop import Graph, Node, custom_op, ops

BUGS = {"tanh-1.5x": "the tanh backward is 1.5 times too large"}


def build(g: Graph, bug: str | None = None) -> Node:
    factor = 1.5 if bug == "tanh-1.5x" else 1.0
    my_tanh = custom_op("my_tanh", np.tanh, lambda u, out, x: factor * u * (1 - out**2), "{out} = tanh({0})")
    x = g.param("x", np.linspace(-1.5, 1.5, 12).reshape(3, 4))
    return ops.scale(ops.sum(my_tanh(x, name="t"), name="s"), 1e-5, name="L")
