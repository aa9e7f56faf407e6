"""Softmax

Logits x = [1, 2], s = softmax(x) (the numerically stable form), loss = -log s[label] with
label = 1; the inspector shows softmax's local Jacobian diag(s) - s·sᵀ beside its numeric estimate.
"""

import numpy as np

from tui_backprop import Graph, Node, Op, ops

LABEL = 1
EPSILON = 1e-2

BUGS = {
    "eps-denominator": (
        f"s = e^(x-max)/(Σe^(x-max) + {EPSILON:g}): the forward guards the denominator, "
        "the backward keeps the textbook Jacobian"
    ),
    "elementwise-derivative": "s = softmax(x): the backward uses s·(1-s) as if softmax were elementwise",
}


def _guarded_softmax(x: np.ndarray) -> np.ndarray:
    e = np.exp(x - np.max(x))
    return e / (np.sum(e) + EPSILON)


def _softmax_op(bug: str | None) -> Op:
    textbook = ops.softmax_op()
    if bug == "eps-denominator":
        return Op("softmax", _guarded_softmax, textbook.backward, textbook.formula, 1)
    if bug == "elementwise-derivative":
        return textbook.with_backward(lambda upstream, s, x: upstream * s * (1 - s))
    return textbook


def build(g: Graph, bug: str | None = None) -> Node:
    x = g.input("x", [1.0, 2.0])
    s = _softmax_op(bug)(x, name="s")
    p = ops.pick(s, LABEL, name="p")
    log_p = ops.log(p, name="log_p")
    return ops.neg(log_p, name="loss")
