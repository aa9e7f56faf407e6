"""A torch model with two custom Functions

nn.Linear, a hand-written GELU, nn.Linear, and a hand-written mean over the features whose
backward forgets to divide by their number: torch.fx traces it into one node per call, and only
the wrong Function is blamed.
"""

import numpy as np
import torch
from torch_gelu import GELU

from tui_backprop import Graph, Node, ops
from tui_backprop.interop import torch_model


class FeatureMean(torch.autograd.Function):
    """The mean of each row; its backward spreads the gradient without the 1/N."""

    @staticmethod
    def forward(ctx, x):
        ctx.features = x.shape[1]
        return x.mean(dim=1)

    @staticmethod
    def backward(ctx, grad):
        return grad[:, None].expand(-1, ctx.features)  # wrong: the mean's derivative is 1/N


class TwoFunctionNet(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(8, 16)
        self.fc2 = torch.nn.Linear(16, 6)

    def forward(self, x):
        h = GELU.apply(self.fc1(x))
        return FeatureMean.apply(torch.tanh(self.fc2(h)))


def build(g: Graph, bug: str | None = None) -> Node:
    rng = np.random.default_rng(3)
    torch.manual_seed(0)
    x = g.input("x", rng.standard_normal((4, 8)))
    y = torch_model(g, TwoFunctionNet(), x)
    r = g.input("r", rng.standard_normal(4))
    return ops.sum(ops.mul(y, r, name="y·r"), name="L")
