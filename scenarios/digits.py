"""Handwritten digits

A relu MLP (64 → 16 → 10, log-softmax cross-entropy) on 200 real 8x8 handwritten digits from the
UCI "Optical Recognition of Handwritten Digits" data (README: "Teaching with it"), all in one
batch: the network the lecture trains, with accuracy beside the loss. He-normal weights, seed 0.
"""

import gzip
from pathlib import Path

import numpy as np

from tui_backprop import Graph, Node, ops

DATA = Path(__file__).with_name("digits.csv.gz")
"""200 images, one per line: 64 pixels (0..16, row by row) then the digit (README: where it comes from)."""
HIDDEN = 16
SEED = 0
LEARNING_RATE = 0.5
"""The step the update phase and training start with (full-batch gradient descent on the mean loss)."""

BUGS = {
    "logsoftmax-sign": "logp = log_softmax(z2): the backward sends the gradient with its sign flipped",
    "bias-grad-averaged": "z1 = W1·X + b1: db1 averages the upstream over the batch instead of summing it",
}


def load() -> tuple[np.ndarray, np.ndarray]:
    """The images as a 200 x 64 array of pixels in [0, 1], and their digits."""
    with gzip.open(DATA, "rt", encoding="ascii") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    return table[:, :64] / 16.0, table[:, 64]


def accuracy(values: dict[str, np.ndarray]) -> float:
    """The fraction of images whose largest logit is their digit (README: training)."""
    return float(np.mean(np.argmax(values["z2"], axis=0) == np.argmax(values["Y"], axis=0)))


def _bias_grad_averaged(upstream, out, W, x, b):
    return upstream @ x.T, W.T @ upstream, upstream.mean(axis=1, keepdims=True)


def build(g: Graph, bug: str | None = None) -> Node:
    pixels, digits = load()
    rng = np.random.default_rng(SEED)
    X = g.input("X", pixels.T)
    Y = g.input("Y", np.eye(10)[digits].T)
    W1 = g.param("W1", rng.standard_normal((HIDDEN, 64)) * np.sqrt(2 / 64))
    b1 = g.param("b1", np.zeros((HIDDEN, 1)))
    W2 = g.param("W2", rng.standard_normal((10, HIDDEN)) * np.sqrt(2 / HIDDEN))
    b2 = g.param("b2", np.zeros((10, 1)))
    first = ops.linear
    if bug == "bias-grad-averaged":
        first = ops.linear.with_backward(_bias_grad_averaged)
    z1 = first(W1, X, b1, name="z1")
    a1 = ops.relu(z1, name="a1")
    z2 = ops.linear(W2, a1, b2, name="z2")
    log_softmax = ops.log_softmax_op(axis=0)
    if bug == "logsoftmax-sign":
        right = log_softmax.backward
        log_softmax = log_softmax.with_backward(lambda upstream, out, z: -right(upstream, out, z))
    logp = log_softmax(z2, name="logp")
    picked = ops.sum(ops.mul(Y, logp, name="Ylogp"), axis=0, name="logp_label")
    return ops.neg(ops.mean(picked, name="mean_logp"), name="loss")
