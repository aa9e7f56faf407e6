"""Three mistakes from course code, each one the diagnosis names

A two-layer net on a batch of 5 with an MSE loss object; each bug is one classic slip.
"""

import numpy as np

from tui_backprop import Graph, Node
from tui_backprop.layers import layer, loss

BUGS = {
    "db-mean": "Dense.backward: db = dy.mean(axis=0), averaged over the batch of 5",
    "loss-sign": "MSE.backward returns target - pred: prediction and target swapped",
    "dx-dropped": "Tanh.backward returns zeros: the gradient stops here",
}


class Dense:
    def __init__(self, n_in, n_out, rng, bug=None):
        self.W = rng.standard_normal((n_in, n_out))
        self.b = rng.standard_normal(n_out)
        self.bug = bug

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, dy):
        self.dW = self.x.T @ dy
        self.db = dy.mean(axis=0) if self.bug == "db-mean" else dy.sum(axis=0)
        return dy @ self.W.T


class Tanh:
    def __init__(self, bug=None):
        self.bug = bug

    def forward(self, x):
        self.out = np.tanh(x)
        return self.out

    def backward(self, dy):
        if self.bug == "dx-dropped":
            return np.zeros_like(dy)
        return dy * (1 - self.out**2)


class MSE:
    def __init__(self, bug=None):
        self.bug = bug

    def forward(self, pred, target):
        self.pred, self.target = pred, target
        return np.mean((pred - target) ** 2)

    def backward(self):
        diff = self.target - self.pred if self.bug == "loss-sign" else self.pred - self.target
        return 2 * diff / diff.size


def build(g: Graph, bug: str | None = None) -> Node:
    rng = np.random.default_rng(4)
    x = g.input("x", rng.standard_normal((5, 3)))
    h = layer(Dense(3, 4, rng, bug), x, "dense1")
    h = layer(Tanh(bug), h, "tanh")
    out = layer(Dense(4, 2, rng), h, "dense2")
    return loss(MSE(bug), out, rng.standard_normal((5, 2)))
