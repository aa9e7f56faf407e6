"""Fused linear + ReLU, in PyTorch

A custom torch.autograd.Function computing relu(x Wᵀ + b) in one step, as nn.Linear stores W
(out × in); its backward is written by hand.
"""

import numpy as np
import torch

from tui_backprop import Graph, Node, ops
from tui_backprop.interop import torch_op

BUGS = {"missing-transpose": "dW = xᵀ · dz (in × out) where nn.Linear's W needs dzᵀ · x (out × in)"}


class LinearReLU(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, W, b):
        z = x @ W.T + b
        ctx.save_for_backward(x, W, z)
        return torch.relu(z)

    @staticmethod
    def backward(ctx, grad):
        x, W, z = ctx.saved_tensors
        dz = grad * (z > 0)
        return dz @ W, dz.T @ x, dz.sum(dim=0)


class LinearReLUMissingTranspose(LinearReLU):
    @staticmethod
    def backward(ctx, grad):
        x, W, z = ctx.saved_tensors
        dz = grad * (z > 0)
        return dz @ W, x.T @ dz, dz.sum(dim=0)


def build(g: Graph, bug: str | None = None) -> Node:
    rng = np.random.default_rng(1)
    x = g.input("x", rng.standard_normal((4, 5)))
    W = g.param("W", rng.standard_normal((5, 5)) / np.sqrt(5))
    b = g.param("b", 0.1 * rng.standard_normal(5))
    fused = torch_op(LinearReLUMissingTranspose if bug == "missing-transpose" else LinearReLU)
    h = fused(x, W, b, name="h")
    return ops.sum(ops.square(h), name="L")
