"""Dropout that draws a fresh mask on every call

Run twice on the same inputs, the forward gives different outputs: no finite difference through
it means anything. The "stateful" bug counts its calls instead.
"""

import numpy as np

from tui_backprop import Graph, Node, ops
from tui_backprop.layers import layer

BUGS = {"stateful": "a layer whose forward scales by how often it was called"}


class Dropout:
    def __init__(self, p):
        self.p = p

    def forward(self, x):
        self.mask = (np.random.rand(*x.shape) > self.p) / (1 - self.p)
        return x * self.mask

    def backward(self, dy):
        return dy * self.mask


class Counting:
    calls = 0

    def forward(self, x):
        self.calls += 1
        return x * self.calls

    def backward(self, dy):
        return dy * self.calls


def build(g: Graph, bug: str | None = None) -> Node:
    x = g.input("x", np.linspace(-1.0, 1.0, 8).reshape(2, 4))
    w = g.param("w", np.full((2, 4), 0.5))
    h = ops.tanh(ops.mul(x, w, name="xw"), name="h")
    dropped = layer(Counting() if bug == "stateful" else Dropout(0.5), h, "drop")
    return ops.sum(ops.square(dropped, name="sq"), name="L")
