"""PyTorch code as ops: a custom ``torch.autograd.Function`` as written, or one call of any torch code.

The node's values are numpy arrays; each forward and backward turns them into CPU tensors of the
same dtype (sharing memory: ``torch.from_numpy``), runs the user's torch code, and hands numpy
arrays back. The backward is torch's own autograd through that one call: for a custom Function that
is its ``backward(ctx, ...)`` with what its ``forward`` saved, exactly what ``torch.autograd.gradcheck``
would judge; the check then judges it element by element (README, "From PyTorch and JAX").
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tui_backprop.interop.calls import Arguments, add_calls, pick_output
from tui_backprop.interop.extras import require

torch = require("torch")


def to_tensor(array: np.ndarray) -> Any:
    """A numpy array as a tensor sharing its memory (a copy only where numpy's strides forbid it)."""
    array = np.asarray(array)
    if not array.flags.writeable or any(s < 0 for s in array.strides):
        array = array.copy()
    return torch.from_numpy(array)


def to_array(value: Any, what: str) -> np.ndarray:
    """A tensor's values as numpy (sharing memory); anything else is refused, saying what it is."""
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"{what} returned {type(value).__name__}, not a tensor")
    return value.detach().cpu().resolve_conj().resolve_neg().numpy()


def constant(value: Any) -> Any:
    """A fixed numpy array among the arguments as a tensor; other constants as they are."""
    return to_tensor(value) if isinstance(value, np.ndarray) else value


@dataclass(frozen=True)
class TorchCall:
    """``fn(*tensors)``, and where its result is a tuple, output ``output`` of it.

    ``writes_inputs``: the call changes its inputs in place (``relu_``, ``inplace=True``), so they
    are copied first: a node's value must not change under it.
    """

    fn: Callable[..., Any]
    label: str
    output: int | None = None
    writes_inputs: bool = False

    def run(self, tensors: list[Any]) -> Any:
        if self.writes_inputs:
            tensors = [t.clone() for t in tensors]
        return pick_output(self.fn(*tensors), self.output, self.label, "torch_op")

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            return to_array(self.run([to_tensor(a) for a in arrays]), self.label)

    def backward(self, upstream: np.ndarray, out: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
        """The vector-Jacobian product by torch's autograd through this one call."""
        with torch.enable_grad():
            leaves = [to_tensor(a).requires_grad_() for a in arrays]
            result = self.run(leaves)
            if not isinstance(result, torch.Tensor) or not result.requires_grad:
                return tuple(np.zeros_like(a) for a in arrays)  # the output does not depend on them
            seed = to_tensor(upstream).to(result.dtype).reshape(result.shape)
            grads = torch.autograd.grad(result, leaves, seed, allow_unused=True)
        return tuple(
            np.zeros_like(a) if g is None else to_array(g, self.label)
            for a, g in zip(arrays, grads, strict=True)
        )


class TorchFunction:
    """A custom ``torch.autograd.Function`` as an op: call it on graph nodes (and constants) as you
    would call ``MyFunction.apply``; it returns the node, or a tuple of ``outputs`` nodes."""

    def __init__(
        self,
        function: type,
        *,
        outputs: int = 1,
        kink: Callable[..., np.ndarray] | None = None,
        elementwise: bool = False,
    ) -> None:
        if not (isinstance(function, type) and issubclass(function, torch.autograd.Function)):
            raise TypeError(f"torch_op takes a torch.autograd.Function subclass, not {function!r}")
        if outputs < 1:
            raise ValueError(f"outputs must be 1 or more, not {outputs}")
        self.function = function
        self.outputs = outputs
        self.kink = kink
        self.elementwise = elementwise

    @property
    def label(self) -> str:
        return self.function.__name__

    def __call__(self, *args: Any, name: str | None = None) -> Any:
        arguments = Arguments.of(args, {})

        def apply(*tensors: Any) -> Any:
            filled, _ = arguments.fill(tensors, constant)
            return self.function.apply(*filled)

        return add_calls(
            arguments,
            lambda output: TorchCall(apply, self.label, output),
            outputs=self.outputs,
            name=name,
            backward_code=self.function.backward,
            kink=self.kink,
            elementwise=self.elementwise,
        )


def torch_op(
    function: type,
    *,
    outputs: int = 1,
    kink: Callable[..., np.ndarray] | None = None,
    elementwise: bool = False,
) -> TorchFunction:
    """``torch_op(MyFunction)(x, w, 0.5, name="h")``: one node running ``MyFunction.apply`` on the
    nodes' values (float64 or float32 CPU tensors), its backward the Function's own.

    ``outputs``: how many tensors its forward returns (then one node per output, ``h.0``, ``h.1``);
    ``kink`` and ``elementwise`` as for ``custom_op`` (README, "Writing a scenario").
    """
    return TorchFunction(function, outputs=outputs, kink=kink, elementwise=elementwise)
