"""Custom ops whose own code fails while the check probes them

Each bug is one way: a forward that refuses a probed value, a kink= function that raises, an
elementwise=True forward that does not broadcast over a batch.
"""

import numpy as np

from tui_backprop import Graph, Node, custom_op, ops

BUGS = {
    "refuses-probe": "forward raises for inputs below 1e-7, and one input sits at 1e-7",
    "kink-raises": "kink= names a variable that does not exist",
    "not-elementwise": "elementwise=True on a forward that flattens its input",
}


def careful_log(x):
    if np.any(x < 1e-7):
        raise ValueError("input below 1e-7")
    return np.log(x)


def build(g: Graph, bug: str | None = None) -> Node:
    x = g.param("x", [[1e-7, 0.5], [2.0, 3.0]])
    if bug == "refuses-probe":
        op = custom_op("careful_log", careful_log, lambda u, out, v: u / v)
    elif bug == "kink-raises":
        op = custom_op("my_abs", np.abs, lambda u, out, v: u * np.sign(v), kink=lambda v: v * undefined)  # noqa: F821
    elif bug == "not-elementwise":
        op = custom_op(
            "flat_double",
            lambda v: 2 * v.reshape(-1),
            lambda u, out, v: 2 * u.reshape(v.shape),
            elementwise=True,
        )
    else:
        op = custom_op("my_log", np.log, lambda u, out, v: u / v)
    return ops.sum(ops.square(op(x, name="y"), name="sq"), name="L")
