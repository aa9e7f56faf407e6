"""sqrt right at the edge of its domain

x = 1e-20: every step that stays in the domain is far too coarse for sqrt's curvature there, so
that element cannot be judged; the node must say so rather than read ok.
"""

import numpy as np

from tui_backprop import Graph, Node, custom_op, ops


def build(g: Graph, bug: str | None = None) -> Node:
    root = custom_op("sqrt", np.sqrt, lambda u, out, x: u / (2 * out), "{out} = √{0}")
    x = g.param("x", [1e-20, 4.0])
    return ops.sum(root(x, name="r"), name="L")
