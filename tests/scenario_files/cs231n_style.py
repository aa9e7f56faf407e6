"""(out, cache) layer functions

affine_forward / affine_backward in the functional style of many course assignments.
"""

import numpy as np

from tui_backprop import Graph, Node, ops
from tui_backprop.layers import cache_op

BUGS = {"dx-not-transposed": "affine_backward: dx = dout @ w instead of dout @ w.T"}


def affine_forward(x, w, b):
    return x @ w + b, (x, w)


def affine_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout, dout.sum(axis=0)


def affine_backward_bug(dout, cache):
    x, w = cache
    return dout @ w, x.T @ dout, dout.sum(axis=0)


def build(g: Graph, bug: str | None = None) -> Node:
    rng = np.random.default_rng(3)
    backward = affine_backward_bug if bug == "dx-not-transposed" else affine_backward
    affine = cache_op("affine", affine_forward, backward, "{out} = {0} @ {1} + {2}")
    x = g.input("x", rng.standard_normal((4, 3)))
    w = g.param("w", rng.standard_normal((3, 3)))
    b = g.param("b", rng.standard_normal(3))
    h = affine(x, w, b, name="h")
    return ops.sum(ops.tanh(h, name="t"), name="L")
