"""Ops: each one holds its forward rule and its backward rule (a vector-Jacobian product) side by side.

An op is called on graph nodes to add a node: ``mul(x, w0, name="a")``. Parameterised ops are
functions that bake their parameter into a fresh op: ``scale(b, -1.0, name="c")``. Authors write
their own with :class:`Op` (or :func:`custom_op`); their backward is exactly what the check judges.

Besides forward and backward, an op may tell the checker three things that make it fast and fair:
- ``elementwise`` / ``batched_forward``: how to evaluate it on a whole batch of perturbed inputs at
  once (the batch is a new leading axis), instead of one Python call per perturbation;
- ``linear_in`` / ``tangent``: inputs in which the forward is affine, so a perturbation of that
  input can be pushed through exactly and the batch of full evaluations starts further downstream;
- ``kink``: a signed coordinate whose sign changes exactly at a non-differentiable point (relu at
  0, |x| at 0, max where a = b), so a finite-difference probe that straddles one is reported as a
  kink rather than a wrong gradient;
- ``adjoint`` (built-in affine ops): the tangent map's transpose, applied to a whole gradient at
  once. It is the op's *original* backward formula, kept apart from ``backward`` so that a bug
  planted with ``with_backward`` does not reach it; the check uses it to pull numeric gradients
  back through the op exactly, at the cost of one backward instead of one probe per element;
- ``diagonal`` (built-in elementwise ops): every output element depends on one element of each
  input (numpy broadcasting), so moving a whole input at once gives every element's derivative
  in one run (column grouping, as in sparse Jacobian estimation).

And, for teaching, ``derivative``: the op's local derivative as the textbook writes it, beside the
forward and backward it describes (see :class:`Derivative`; the app writes the chain rule out with it).

The ops live in modules by concern (core: :class:`Op` and its batching helpers; elementwise;
linalg; reductions: sums, softmax family, losses); this package is their public face, ``ops.*``.
"""

from tui_backprop.core.ops.base import (
    Array,
    Backward,
    Derivative,
    Op,
    ProbeError,
    align,
    as_derivative,
    custom_op,
    unbroadcast,
)
from tui_backprop.core.ops.elementwise import (
    abs,  # noqa: A004 - the op is |x|; ops.abs reads like the maths
    add,
    add_const,
    div,
    exp,
    log,
    maximum,
    mul,
    neg,
    power,
    reciprocal,
    relu,
    scale,
    sigmoid,
    square,
    sub,
    tanh,
)
from tui_backprop.core.ops.linalg import linear, matmul, transpose
from tui_backprop.core.ops.reductions import (
    SOFTMAX_SENT,
    binary_cross_entropy,
    log_softmax,
    log_softmax_op,
    mean,
    pick,
    softmax,
    softmax_op,
    sum,  # noqa: A004 - ops.sum is the graph's sum
)

__all__ = [
    "SOFTMAX_SENT",
    "Array",
    "Backward",
    "Derivative",
    "Op",
    "ProbeError",
    "abs",
    "add",
    "add_const",
    "align",
    "as_derivative",
    "binary_cross_entropy",
    "custom_op",
    "div",
    "exp",
    "linear",
    "log",
    "log_softmax",
    "log_softmax_op",
    "matmul",
    "maximum",
    "mean",
    "mul",
    "neg",
    "pick",
    "power",
    "reciprocal",
    "relu",
    "scale",
    "sigmoid",
    "softmax",
    "softmax_op",
    "square",
    "sub",
    "sum",
    "tanh",
    "transpose",
    "unbroadcast",
]
