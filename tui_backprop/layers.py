"""Adapters for code students already have: layer objects and (out, cache) function pairs.

Layer objects are the usual course style: ``forward(x)`` caches what it needs and returns the
output, ``backward(dy)`` returns dL/dx and stores each parameter's gradient on the object
(``self.dW``, ``self.grad_weights``, ...). :func:`layer` turns one call of such an object into one
graph node whose inputs are x and the layer's parameters (as leaf nodes named ``layer.W``), without
changing the user's class. The node's backward rule *is* the user's ``backward``, so the local
check judges it: a wrong ``dx`` or a wrong ``dW`` is blamed on that layer's node, and the element
that differs is shown on the input or parameter it belongs to.

:func:`cache_op` does the same for the functional style ``affine_forward(x, w, b) -> (out, cache)``
and ``affine_backward(dout, cache) -> (dx, dw, db)``; :func:`loss` for loss objects
(``forward(pred, target)``, ``backward()``) and loss functions returning ``(loss, dpred)``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from tui_backprop.graph import Node
from tui_backprop.ops import Op

PARAM_NAMES = ("W", "b", "w", "weight", "weights", "bias", "biases", "gamma", "beta", "kernel")
"""Attribute names taken for parameters when the author does not list them."""


def grad_candidates(param: str) -> list[str]:
    """Where course code usually stores a parameter's gradient, most common first."""
    return [f"d{param}", f"grad_{param}", f"{param}_grad", f"d_{param}", f"grad{param}", f"{param}grad"]


def detect_params(obj: Any) -> list[str]:
    """The float-array attributes of a layer whose names say they are parameters."""
    found = []
    for attr, value in vars(obj).items():
        is_param_name = attr in PARAM_NAMES or (attr[:1] in "Wb" and attr[1:].isdigit())
        if is_param_name and isinstance(value, np.ndarray) and value.dtype.kind == "f":
            found.append(attr)
    return found


def _param_map(obj: Any, params: Mapping[str, str] | Sequence[str] | None) -> dict[str, str | None]:
    """Parameter attribute -> gradient attribute (None: find it by the naming patterns)."""
    if params is None:
        return dict.fromkeys(detect_params(obj))
    if isinstance(params, Mapping):
        return dict(params)
    return dict.fromkeys(params)


def _find_grad(obj: Any, param: str, where: str | None, label: str) -> np.ndarray:
    names = [where] if where else grad_candidates(param)
    for attr in names:
        value = getattr(obj, attr, None)
        if value is not None:
            return np.asarray(value)
    looked = ", ".join(names)
    raise AttributeError(
        f"{label}: after backward there is no gradient for parameter {param!r} (looked for {looked}); "
        f"say where it lands with params={{{param!r}: 'attribute'}}"
    )


def layer(
    obj: Any,
    x: Node,
    name: str,
    params: Mapping[str, str] | Sequence[str] | None = None,
    *,
    formula: str | None = None,
    kink: Callable[..., np.ndarray] | None = None,
) -> Node:
    """One call ``obj.forward(x)`` as a node; its parameters become leaf nodes ``name.attr``.

    ``params``: the parameter attributes (default: float arrays named W, b, weight, bias, ...),
    or a dict from parameter attribute to the attribute its gradient lands in (default: dW,
    grad_W, W_grad, ...). ``kink``: for layers like ReLU, a function of x whose sign changes at
    the non-differentiable points, so probes across them read as kinks.
    """
    label = type(obj).__name__
    mapping = _param_map(obj, params)
    for attr in mapping:
        if not isinstance(getattr(obj, attr, None), np.ndarray):
            raise ValueError(f"{label}.{attr} is not a numpy array, so it cannot be a parameter")
    graph = x.graph
    leaves = [graph.param(f"{name}.{attr}", getattr(obj, attr)) for attr in mapping]
    attrs = list(mapping)

    def load(values: Sequence[np.ndarray]) -> None:
        for attr, value in zip(attrs, values, strict=True):
            setattr(obj, attr, value)

    def forward(inp: np.ndarray, *values: np.ndarray) -> np.ndarray:
        load(values)
        return obj.forward(inp)

    def backward(upstream: np.ndarray, out: np.ndarray, inp: np.ndarray, *values: np.ndarray):
        load(values)
        obj.forward(inp)  # the checker's probes overwrote the layer's cache: restore it
        for attr, where in mapping.items():  # zero first, so `+=` and `=` styles both read right
            for candidate in [where] if where else grad_candidates(attr):
                if hasattr(obj, candidate):
                    setattr(obj, candidate, np.zeros_like(getattr(obj, attr)))
        dx = obj.backward(upstream)
        grads = [_find_grad(obj, attr, mapping[attr], label) for attr in attrs]
        return (dx, *grads)

    inputs = ", ".join(["{0}"] + [f"{{{i + 1}}}" for i in range(len(attrs))])
    op = Op(
        label,
        forward,
        _with_origin(backward, obj.backward),
        formula or f"{{out}} = {label}({inputs})",
        1 + len(attrs),
        kink=(lambda inp, *values: kink(inp)) if kink else None,
    )
    return op(x, *leaves, name=name)


def cache_op(
    name: str,
    forward: Callable[..., tuple[Any, Any]],
    backward: Callable[[np.ndarray, Any], Any],
    formula: str = "",
) -> Op:
    """An op from the (out, cache) style: ``forward(*inputs) -> (out, cache)``,
    ``backward(dout, cache) -> dx`` or a tuple of one gradient per input."""

    def vjp(upstream: np.ndarray, out: np.ndarray, *inputs: np.ndarray):
        _, cache = forward(*inputs)
        return backward(upstream, cache)

    return Op(name, lambda *inputs: forward(*inputs)[0], _with_origin(vjp, backward), formula)


def loss(obj_or_fn: Any, pred: Node, target: Any, name: str = "loss", formula: str | None = None) -> Node:
    """A loss on ``pred`` against a fixed ``target``: an object with ``forward(pred, target)`` and
    ``backward()`` (returning dL/dpred), or a function ``(pred, target) -> (loss, dpred)``."""
    target = np.asarray(target)
    label = getattr(obj_or_fn, "__name__", type(obj_or_fn).__name__)
    if callable(getattr(obj_or_fn, "forward", None)):
        forward = lambda p: obj_or_fn.forward(p, target)  # noqa: E731

        def vjp(upstream: np.ndarray, out: np.ndarray, p: np.ndarray) -> np.ndarray:
            obj_or_fn.forward(p, target)
            return np.asarray(obj_or_fn.backward()) * upstream

        source = obj_or_fn.backward
    else:
        forward = lambda p: obj_or_fn(p, target)[0]  # noqa: E731

        def vjp(upstream: np.ndarray, out: np.ndarray, p: np.ndarray) -> np.ndarray:
            return np.asarray(obj_or_fn(p, target)[1]) * upstream

        source = obj_or_fn
    op = Op(label, forward, _with_origin(vjp, source), formula or f"{{out}} = {label}({{0}}, target)", 1)
    return op(pred, name=name)


def _with_origin(wrapper: Callable[..., Any], user_code: Callable[..., Any]) -> Callable[..., Any]:
    """Point error reports about ``wrapper`` at the author's function, not at this adapter."""
    code = getattr(user_code, "__code__", None) or getattr(
        getattr(user_code, "__func__", None), "__code__", None
    )
    if code is not None:
        wrapper.__wrapped_code__ = code  # type: ignore[attr-defined]
    return wrapper
