"""GELU by hand, in PyTorch

A custom torch.autograd.Function: the tanh approximation of GELU with its hand-written backward.
"""

import math

import numpy as np
import torch

from tui_backprop import Graph, Node, ops
from tui_backprop.interop import torch_op

C = math.sqrt(2 / math.pi)
BUGS = {"wrong-constant": "the backward's cubic term says 0.44715 where the forward has 0.044715 "}


class GELU(torch.autograd.Function):
    """0.5 x (1 + tanh(c (x + 0.044715 x³)))."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return 0.5 * x * (1 + torch.tanh(C * (x + 0.044715 * x**3)))

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        t = torch.tanh(C * (x + 0.044715 * x**3))
        return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t**2) * C * (1 + 3 * 0.044715 * x**2))


class GELUWrongConstant(GELU):
    """The same forward; the backward has a typo in its constant."""

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        t = torch.tanh(C * (x + 0.044715 * x**3))
        return grad * (0.5 * (1 + t) + 0.5 * x * (1 - t**2) * C * (1 + 3 * 0.44715 * x**2))


def build(g: Graph, bug: str | None = None) -> Node:
    rng = np.random.default_rng(0)
    x = g.input("x", rng.standard_normal((4, 8)))
    r = g.input("r", rng.standard_normal((4, 8)))
    gelu = torch_op(GELUWrongConstant if bug == "wrong-constant" else GELU)
    return ops.sum(ops.mul(gelu(x, name="gelu"), r, name="gelu·r"), name="L")
