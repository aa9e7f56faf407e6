"""``tui_backprop.layers``, the import path the README documents: adapters for a student's own code.

They live in :mod:`tui_backprop.core.layers`; this module is their public face and holds nothing else.
"""

from tui_backprop.core.layers import cache_op, jacobian_op, layer, loss

__all__ = ["cache_op", "jacobian_op", "layer", "loss"]
