"""A layer-object network

Dense → ReLU → Dense → MSE, written the way a course writes layers: forward caches, backward
returns dx and stores dW, db on the object. BUGS plant a wrong layer.
"""

import numpy as np

from tui_backprop import Graph, Node
from tui_backprop.layers import layer, loss

BUGS = {
    "dense-db-not-summed": "Dense.backward: db keeps the batch axis' first row instead of summing it",
    "relu-wrong-mask": "ReLU.backward: masks with the upstream's sign instead of the input's",
}


class Dense:
    def __init__(self, n_in, n_out, rng):
        self.W = rng.standard_normal((n_in, n_out)) * 0.5
        self.b = rng.standard_normal(n_out) * 0.1

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dy):
        self.dW = self.x.T @ dy
        self.db = dy.sum(axis=0)
        return dy @ self.W.T


class DenseFirstRowBias(Dense):
    def backward(self, dy):
        dx = super().backward(dy)
        self.db = dy[0]
        return dx


class ReLU:
    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, dy):
        return dy * self.mask


class ReLUWrongMask(ReLU):
    def backward(self, dy):
        return dy * (dy > 0)


class MSE:
    def forward(self, pred, target):
        self.diff = pred - target
        return np.mean(self.diff**2)

    def backward(self):
        return 2 * self.diff / self.diff.size


def build(g: Graph, bug: str | None = None) -> Node:
    rng = np.random.default_rng(7)
    X = rng.standard_normal((5, 3))
    Y = rng.standard_normal((5, 2))
    first = (DenseFirstRowBias if bug == "dense-db-not-summed" else Dense)(3, 4, rng)
    act = (ReLUWrongMask if bug == "relu-wrong-mask" else ReLU)()
    second = Dense(4, 2, rng)
    x = g.input("X", X)
    h = layer(first, x, "dense1")
    h = layer(act, h, "relu", kink=lambda z: z)
    out = layer(second, h, "dense2")
    return loss(MSE(), out, Y)
