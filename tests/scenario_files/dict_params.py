"""Layers that keep their parameters in a dict or a list

CS231n style: self.params['W'] with gradients in self.grads['W']; and a layer holding its
weights in a list. The Scaled layer holds an array it does not register: a warning, not a pass.
"""

import numpy as np

from tui_backprop import Graph, Node, ops
from tui_backprop.layers import layer

BUGS = {
    "dW-wrong": "Affine.backward: grads['W'] = x.T @ dout * 0.5",
    "list-db-wrong": "ListAffine.backward: db is the first row of dout",
}


class Affine:
    def __init__(self, n_in, n_out, rng, bug=None):
        self.params = {"W": rng.standard_normal((n_in, n_out)), "b": np.zeros(n_out)}
        self.grads = {}
        self.bug = bug

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        scale = 0.5 if self.bug == "dW-wrong" else 1.0
        self.grads["W"] = scale * self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class ListAffine:
    def __init__(self, n_in, n_out, rng, bug=None):
        self.params = [rng.standard_normal((n_in, n_out)), rng.standard_normal(n_out)]
        self.bug = bug

    def forward(self, x):
        self.x = x
        return x @ self.params[0] + self.params[1]

    def backward(self, dout):
        db = dout[0] if self.bug == "list-db-wrong" else dout.sum(axis=0)
        self.grads = [self.x.T @ dout, db]
        return dout @ self.params[0].T


class Scaled:
    def __init__(self, n):
        self.scale = np.linspace(0.5, 1.5, n)  # trained in the course code, but not registered here

    def forward(self, x):
        return x * self.scale

    def backward(self, dout):
        return dout * self.scale


def build(g: Graph, bug: str | None = None) -> Node:
    rng = np.random.default_rng(5)
    x = g.input("x", rng.standard_normal((4, 3)))
    h = layer(Affine(3, 5, rng, bug), x, "fc1")
    h = ops.tanh(h, name="t")
    h = layer(Scaled(5), h, "scaled")
    out = layer(ListAffine(5, 2, rng, bug), h, "fc2")
    penalty = ops.scale(ops.sum(ops.square(g["fc1.W"]), name="l2"), 0.01, name="reg")
    return ops.add(ops.sum(ops.square(out), name="data"), penalty, name="L")
