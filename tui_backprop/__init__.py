"""backprop-tui: step through backpropagation node by node and check every gradient.

The public API a scenario author uses::

    from tui_backprop import Graph, Op, custom_op, ops

    def build(g: Graph, bug: str | None = None):
        x = g.input("x", 2.0)
        w = g.param("w", 3.0)
        return ops.mul(x, w, name="f")
"""

from tui_backprop import ops
from tui_backprop.graph import Graph, GraphError, Node
from tui_backprop.ops import Op, custom_op

__all__ = ["Graph", "GraphError", "Node", "Op", "custom_op", "ops"]
__version__ = "0.1.0"
