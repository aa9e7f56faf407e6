"""L1 penalty with a sign computed as W / |W|

The backward of |W| written as W / np.abs(W): 0/0 = NaN at the zero entry of W.
"""

import numpy as np

from tui_backprop import Graph, Node, custom_op, ops


def l1_backward(upstream, out, w):
    return upstream * w / np.abs(w)


def build(g: Graph, bug: str | None = None) -> Node:
    w = g.param("W", [[0.5, 0.0], [-1.5, 2.0]])
    penalty = custom_op("l1", np.abs, l1_backward, "{out} = |{0}|")
    return ops.sum(penalty(w, name="absW"), name="L")
