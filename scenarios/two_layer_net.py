"""Two-layer net

z1 = W1·x + b1, a1 = relu(z1), z2 = W2·a1 + b2, a2 = sigmoid(z2) and the binary cross-entropy
loss = -(y·log a2 + (1-y)·log(1-a2)), with weights drawn by np.random.seed(42).
"""

import numpy as np

from tui_backprop import Graph, Node, ops

BUGS = {
    "sigmoid-missing-factor": "a2 = σ(z2): the backward uses σ instead of σ·(1-σ)",
    "matmul-grad-transposed": "z1 = W1·x + b1: dW1 is computed as x·upstreamᵀ instead of upstream·xᵀ",
}


def data() -> dict[str, np.ndarray]:
    """The draws in the order the lecture notes make them (numpy's legacy global seeding)."""
    np.random.seed(42)
    W1 = np.random.rand(2, 2)
    b1 = np.random.rand(2, 1)
    W2 = np.random.rand(1, 2)
    b2 = np.random.rand(1, 1)
    x = np.random.rand(2, 1)
    y = np.random.randint(0, 2)
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "x": x, "y": y}


def _transposed_weight_grad(upstream, out, W, x, b):
    return x @ upstream.T, W.T @ upstream, upstream


def build(g: Graph, bug: str | None = None) -> Node:
    d = data()
    W1, b1 = g.param("W1", d["W1"]), g.param("b1", d["b1"])
    W2, b2 = g.param("W2", d["W2"]), g.param("b2", d["b2"])
    x, y = g.input("x", d["x"]), g.input("y", d["y"])
    first = ops.linear
    if bug == "matmul-grad-transposed":
        first = ops.linear.with_backward(_transposed_weight_grad)
    z1 = first(W1, x, b1, name="z1")
    a1 = ops.relu(z1, name="a1")
    z2 = ops.linear(W2, a1, b2, name="z2")
    sigmoid = ops.sigmoid
    if bug == "sigmoid-missing-factor":
        sigmoid = ops.sigmoid.with_backward(lambda upstream, out, z: upstream * out)
    a2 = sigmoid(z2, name="a2")
    return ops.binary_cross_entropy(a2, y, name="loss")
