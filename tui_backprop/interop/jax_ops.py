"""JAX code as ops: a ``jax.custom_vjp`` with its hand-written rule, or any jax function with jax's own.

The node's forward calls the function on the nodes' numpy values; its backward is ``jax.vjp`` of
that one call: for a ``custom_vjp`` that is the user's ``bwd`` with what ``fwd`` saved, exactly what
``jax.test_util.check_grads`` would judge; the check judges it element by element (README, "From
PyTorch and JAX"). float64 needs jax's x64 mode, which the first ``jax_op`` switches on (for the
whole process: jax has no other way).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from tui_backprop.interop.calls import Arguments, add_calls, pick_output
from tui_backprop.interop.extras import require

jax = require("jax")


def to_array(value: Any, what: str) -> np.ndarray:
    """A jax array's values as numpy (no copy on the CPU); anything else is refused."""
    if not isinstance(value, jax.Array | np.ndarray):
        raise TypeError(f"{what} returned {type(value).__name__}, not an array")
    return np.asarray(value)


@dataclass(frozen=True)
class JaxCall:
    """``fn(*arrays)``, and where it returns a tuple, output ``output`` of it."""

    fn: Callable[..., Any]
    label: str
    output: int | None = None

    def run(self, *arrays: Any) -> Any:
        return pick_output(self.fn(*arrays), self.output, self.label, "jax_op")

    def forward(self, *arrays: np.ndarray) -> np.ndarray:
        return to_array(self.run(*arrays), self.label)

    def backward(self, upstream: np.ndarray, out: np.ndarray, *arrays: np.ndarray) -> tuple[np.ndarray, ...]:
        """The vector-Jacobian product by ``jax.vjp`` through this one call."""
        result, pullback = jax.vjp(self.run, *arrays)
        grads = pullback(np.asarray(upstream, dtype=result.dtype).reshape(result.shape))
        return tuple(to_array(g, self.label) for g in grads)


class JaxFunction:
    """A jax function as an op: call it on graph nodes (and constants) as you would call it on arrays;
    it returns the node, or a tuple of ``outputs`` nodes."""

    def __init__(
        self,
        function: Callable[..., Any],
        *,
        name: str | None = None,
        outputs: int = 1,
        kink: Callable[..., np.ndarray] | None = None,
        elementwise: bool = False,
    ) -> None:
        if not callable(function):
            raise TypeError(f"jax_op takes a function, not {function!r}")
        if outputs < 1:
            raise ValueError(f"outputs must be 1 or more, not {outputs}")
        jax.config.update("jax_enable_x64", True)  # float64 values stay float64
        self.function = function
        self.label = name or getattr(function, "__name__", None) or type(function).__name__
        self.outputs = outputs
        self.kink = kink
        self.elementwise = elementwise

    def __call__(self, *args: Any, name: str | None = None, **kwargs: Any) -> Any:
        arguments = Arguments.of(args, kwargs)

        def call(*arrays: Any) -> Any:
            filled, named = arguments.fill(arrays)
            return self.function(*filled, **named)

        return add_calls(
            arguments,
            lambda output: JaxCall(call, self.label, output),
            outputs=self.outputs,
            name=name,
            backward_code=_rule_code(self.function),
            kink=self.kink,
            elementwise=self.elementwise,
        )


def _rule_code(function: Any) -> Callable[..., Any] | None:
    """Where errors in the node's backward point: a custom_vjp's hand-written ``bwd``, else the function."""
    return getattr(function, "bwd", None) or (function if hasattr(function, "__code__") else None)


def jax_op(
    function: Callable[..., Any],
    *,
    name: str | None = None,
    outputs: int = 1,
    kink: Callable[..., np.ndarray] | None = None,
    elementwise: bool = False,
) -> JaxFunction:
    """``jax_op(softplus)(x, name="s")``: one node running ``softplus`` on the node's value, its
    backward the function's VJP (a ``custom_vjp``'s own rule, else jax's autodiff).

    ``name``: the op's name (default: the function's); ``outputs``: how many arrays it returns (then
    one node per output, ``s.0``, ``s.1``); ``kink`` and ``elementwise`` as for ``custom_op``.
    """
    return JaxFunction(function, name=name, outputs=outputs, kink=kink, elementwise=elementwise)
