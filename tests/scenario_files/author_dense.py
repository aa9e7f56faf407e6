"""Two layers of the author's own dense op: big enough to be verified by projection."""

import numpy as np

from tui_backprop import custom_op, ops

TITLE = "author's dense layers"
BUGS = {"dw-element": "dense1's dW[3, 5] is 1 % off"}


def dense(name, wrong):
    def backward(u, out, w, h):
        dw = u @ h.T
        dw[3, 5] *= 1 + wrong
        return dw, w.T @ u

    return custom_op(name, lambda w, h: w @ h, backward)


def build(g, bug=None):
    rng = np.random.default_rng(0)
    h = g.input("h", rng.standard_normal((400, 16)))
    w1 = g.param("W1", rng.standard_normal((200, 400)) / 20)
    w2 = g.param("W2", rng.standard_normal((10, 200)) / 14)
    a1 = ops.tanh(dense("dense1", 0.01 if bug == "dw-element" else 0.0)(w1, h, name="z1"), name="a1")
    return ops.sum(ops.square(dense("dense2", 0.0)(w2, a1, name="z2"), name="q"), name="L")
