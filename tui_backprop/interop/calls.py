"""One call of foreign code as an op: which arguments are graph nodes, which are baked in.

``MyFunction.apply(x, w, 0.5)`` or ``torch.cat([h1, h2], dim=1)`` becomes one node whose inputs are
the graph nodes among the arguments (each once, however often it appears) and whose forward puts
their values back where they were, beside the constants (numbers, strings, shapes, fixed arrays).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from tui_backprop.core.graph import Node
from tui_backprop.core.layers import with_origin
from tui_backprop.core.ops import Op


@dataclass(frozen=True)
class Slot:
    """Where the value of input ``index`` goes back in."""

    index: int


@dataclass(frozen=True)
class Arguments:
    """A call's arguments with its graph inputs replaced by slots."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    inputs: tuple[Node, ...]

    @classmethod
    def of(
        cls, args: Sequence[Any], kwargs: dict[str, Any], node_of: Callable[[Any], Node | None] | None = None
    ) -> Arguments:
        """Split ``args`` and ``kwargs`` (lists, tuples and dicts looked into) into inputs and constants.

        ``node_of(argument)``: the graph node an argument stands for, or None for a constant
        (default: the argument itself when it is a node).
        """
        find = node_of or (lambda a: a if isinstance(a, Node) else None)
        inputs: list[Node] = []

        def take(value: Any) -> Any:
            node = find(value)
            if node is not None:
                for index, seen in enumerate(inputs):
                    if seen is node:
                        return Slot(index)
                inputs.append(node)
                return Slot(len(inputs) - 1)
            if isinstance(value, list | tuple):
                return type(value)(take(v) for v in value)
            if isinstance(value, dict):
                return {k: take(v) for k, v in value.items()}
            return value

        taken = tuple(take(a) for a in args)
        return cls(taken, {k: take(v) for k, v in kwargs.items()}, tuple(inputs))

    def fill(
        self, values: Sequence[Any], constant: Callable[[Any], Any] = lambda c: c
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        """The arguments with the inputs' ``values`` back in their slots; ``constant`` converts the rest
        (a fixed numpy array into the framework's own array type)."""

        def put(value: Any) -> Any:
            if isinstance(value, Slot):
                return values[value.index]
            if isinstance(value, list | tuple):
                return type(value)(put(v) for v in value)
            if isinstance(value, dict):
                return {k: put(v) for k, v in value.items()}
            return constant(value)

        return tuple(put(a) for a in self.args), {k: put(v) for k, v in self.kwargs.items()}

    def formula(self, label: str, suffix: str = "") -> str:
        """``{out} = label({0}, 0.5, dim=1)``: the op's formula template, constants written short."""
        parts = [_written(a) for a in self.args] + [f"{k}={_written(v)}" for k, v in self.kwargs.items()]
        return "{out} = " + _braced(label) + "(" + ", ".join(parts) + ")" + _braced(suffix)


class Call(Protocol):
    """One call of foreign code on numpy values: its forward, and its VJP by the framework's autodiff."""

    label: str

    def forward(self, *arrays: np.ndarray) -> np.ndarray: ...

    def backward(
        self, upstream: np.ndarray, out: np.ndarray, *arrays: np.ndarray
    ) -> tuple[np.ndarray, ...]: ...


def pick_output(result: Any, output: int | None, label: str, wrapper: str) -> Any:
    """The output this node stands for: the whole result when ``output`` is None (refusing a
    tuple, whose count the author must declare), else that element of it."""
    if output is None:
        if isinstance(result, tuple | list):
            count = len(result)
            declare = f"{wrapper}({label}, outputs={count})"
            raise TypeError(f"{label} returned {count} outputs; declare them: {declare}")
        return result
    if not isinstance(result, tuple | list) or output >= len(result):
        got = f"{len(result)} outputs" if isinstance(result, tuple | list) else "one output"
        raise TypeError(f"{label} returned {got}, not output {output}")
    return result[output]


def call_op(
    call: Call,
    formula: str,
    *,
    arity: int,
    backward_code: Callable[..., Any] | None = None,
    kink: Callable[..., np.ndarray] | None = None,
    elementwise: bool = False,
) -> Op:
    """The op of one call; errors in its backward point at ``backward_code`` (the user's rule)."""
    backward: Callable[..., Any] = call.backward
    if backward_code is not None:
        backward = with_origin(lambda *a: call.backward(*a), backward_code)
    return Op(call.label, call.forward, backward, formula, arity, elementwise=elementwise, kink=kink)


def add_calls(
    arguments: Arguments,
    make_call: Callable[[int | None], Call],
    *,
    outputs: int,
    name: str | None,
    backward_code: Callable[..., Any] | None = None,
    kink: Callable[..., np.ndarray] | None = None,
    elementwise: bool = False,
) -> Node | tuple[Node, ...]:
    """The node of a call on ``arguments``, or one node per output (``h.0``, ``h.1``, ...)."""
    if not arguments.inputs:
        raise TypeError(f"{make_call(None).label}: at least one argument must be a graph node")
    graph = arguments.inputs[0].graph
    nodes = []
    for output in range(outputs) if outputs > 1 else [None]:
        call = make_call(output)
        suffix = "" if output is None else f"[{output}]"
        formula = arguments.formula(call.label, suffix)
        op = call_op(
            call,
            formula,
            arity=len(arguments.inputs),
            backward_code=backward_code,
            kink=kink,
            elementwise=elementwise,
        )
        stem = name or graph.fresh_name(call.label)
        nodes.append(op(*arguments.inputs, name=stem if output is None else f"{stem}.{output}"))
        name = stem
    return nodes[0] if outputs == 1 else tuple(nodes)


def _braced(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


def _written(value: Any) -> str:
    """A constant as the formula shows it: a slot as its input's name, an array by its shape."""
    if isinstance(value, Slot):
        return "{" + str(value.index) + "}"
    if isinstance(value, list | tuple):
        inner = ", ".join(_written(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' if len(value) == 1 else ''})"
    if isinstance(value, dict):
        return "{{" + ", ".join(f"{k!r}: {_written(v)}" for k, v in value.items()) + "}}"
    shape = getattr(value, "shape", None)
    if shape is not None and not isinstance(value, int | float):
        return "array[" + "x".join(str(n) for n in shape) + "]" if len(shape) else _braced(repr(value))
    text = repr(value) if isinstance(value, bool | int | float | str | type(None)) else type(value).__name__
    return _braced(text if len(text) <= 24 else text[:23] + "…")
