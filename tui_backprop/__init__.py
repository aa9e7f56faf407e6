"""backprop-tui: step through backpropagation node by node and check every gradient.

The public API a scenario author uses::

    from tui_backprop import Graph, Op, custom_op, ops

    def build(g: Graph, bug: str | None = None):
        x = g.input("x", 2.0)
        w = g.param("w", 3.0)
        return ops.mul(x, w, name="f")

The names are imported on first use, so that opening the app does not wait for numpy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui_backprop import ops
    from tui_backprop.core.graph import Graph, GraphError, Node
    from tui_backprop.core.ops import Op, custom_op

__all__ = ["Graph", "GraphError", "Node", "Op", "custom_op", "ops"]
__version__ = "0.1.0"

_HOMES = {
    "Graph": "tui_backprop.core.graph",
    "GraphError": "tui_backprop.core.graph",
    "Node": "tui_backprop.core.graph",
    "Op": "tui_backprop.core.ops",
    "custom_op": "tui_backprop.core.ops",
}


def __getattr__(name: str) -> Any:
    if name == "ops":
        return importlib.import_module("tui_backprop.ops")
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'tui_backprop' has no attribute {name!r}")
