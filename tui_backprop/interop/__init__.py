"""Optional adapters: PyTorch and JAX code as ops (README, "From PyTorch and JAX").

``torch_op(MyFunction)`` makes a custom ``torch.autograd.Function`` an op, ``jax_op(f)`` a
``jax.custom_vjp`` (or any jax function), and ``torch_model`` traces an ``nn.Module`` with torch.fx
into one node per call. torch and jax are extras (``backprop-tui[torch]``, ``[jax]``): each is
imported only when its adapter is first used, and nothing else in the package imports this one
but the command line's ``--torch``.

Imports ``core``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui_backprop.interop.fx_model import torch_model
    from tui_backprop.interop.jax_ops import jax_op
    from tui_backprop.interop.torch_ops import torch_op

__all__ = ["jax_op", "torch_model", "torch_op"]

_HOMES = {
    "torch_op": "tui_backprop.interop.torch_ops",
    "torch_model": "tui_backprop.interop.fx_model",
    "jax_op": "tui_backprop.interop.jax_ops",
}


def __getattr__(name: str) -> Any:
    """``from tui_backprop.interop import jax_op`` imports jax, and not torch (and the reverse)."""
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'tui_backprop.interop' has no attribute {name!r}")
