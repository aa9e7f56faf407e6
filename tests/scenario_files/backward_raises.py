"""A backward that raises"""

from tui_backprop import Graph, Node, Op, ops


def cube_backward(upstream, out, z):
    return upstream * 3 * z**2 * undefined_name  # noqa: F821


cube = Op("cube", lambda z: z**3, cube_backward, "{out} = {0}³")


def build(g: Graph, bug: str | None = None) -> Node:
    x = g.param("x", [1.0, 2.0])
    return ops.sum(cube(x, name="c"), name="L")
