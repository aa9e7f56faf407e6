"""Binary cross-entropy of a confident prediction

p = 1 - 1e-7: the +eps probe takes p past 1, where log(1 - p) is NaN. The bug drops the minus.
"""

import numpy as np

from tui_backprop import Graph, Node, custom_op

BUGS = {"sign-flipped": "dL/dp = (y - p) / (p (1 - p)): the sign is flipped"}


def bce(p, y):
    return -np.sum(y * np.log(p) + (1 - y) * np.log(1 - p))


def build(g: Graph, bug: str | None = None) -> Node:
    y = np.array([1.0, 0.0, 1.0])
    sign = -1.0 if bug == "sign-flipped" else 1.0
    loss = custom_op("bce", lambda p: bce(p, y), lambda u, out, p: sign * u * (p - y) / (p * (1 - p)))
    p = g.param("p", [1 - 1e-7, 0.3, 0.9])
    return loss(p, name="L")
