"""log of a value closer to 0 than eps

x = 5e-7 with eps = 1e-6: the -eps probe leaves log's domain. The bug is a backward 3x too large.
"""

import numpy as np

from tui_backprop import Graph, Node, custom_op, ops

BUGS = {"three-times": "the backward returns 3 · upstream / x"}


def build(g: Graph, bug: str | None = None) -> Node:
    factor = 3.0 if bug == "three-times" else 1.0
    log = custom_op("my_log", np.log, lambda u, out, x: factor * u / x, "{out} = log({0})")
    x = g.param("x", [5e-7, 2e-6, 0.5])
    return ops.sum(log(x, name="y"), name="L")
