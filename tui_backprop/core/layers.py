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

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from tui_backprop.core.graph import Node
from tui_backprop.core.ops import Op

PARAM_NAMES = ("W", "b", "w", "weight", "weights", "bias", "biases", "gamma", "beta", "kernel")
"""Attribute names taken for parameters when the author does not list them."""
PARAM_CONTAINERS = ("params", "parameters", "weights", "_params", "param")
"""Dict or list attributes whose float arrays are the parameters (``self.params['W']``, CS231n)."""
GRAD_CONTAINERS = ("grads", "gradients", "grad", "dparams", "d_params", "param_grads", "_grads")
"""Where gradients of dict- or list-held parameters land (``self.grads['W']``)."""


@dataclass(frozen=True)
class Slot:
    """Where a parameter lives on a layer object: ``self.W``, ``self.params['W']``, ``self.params[0]``."""

    attr: str
    key: str | int | None = None

    @property
    def label(self) -> str:
        """The part of the parameter node's name after ``layer.``."""
        if self.key is None:
            return self.attr
        return str(self.key) if isinstance(self.key, str) else f"{self.attr}[{self.key}]"

    def __str__(self) -> str:
        return self.attr if self.key is None else f"{self.attr}[{self.key!r}]"

    def get(self, obj: Any) -> Any:
        holder = getattr(obj, self.attr, None)
        if self.key is None or holder is None:
            return holder
        try:
            return holder[self.key]
        except (KeyError, IndexError, TypeError):
            return None

    def set(self, obj: Any, value: np.ndarray) -> None:
        if self.key is None:
            setattr(obj, self.attr, value)
        else:
            getattr(obj, self.attr)[self.key] = value

    def grad_slots(self) -> list[Slot]:
        """Where this parameter's gradient usually lands, most common first."""
        if self.key is None:
            return [Slot(a) for a in grad_candidates(self.attr)]
        keys: list[str | int] = [self.key]
        if isinstance(self.key, str):
            keys += grad_candidates(self.key)
        return [Slot(c, k) for c in GRAD_CONTAINERS for k in keys]


_SLOT = re.compile(r"""^(\w+)\[\s*(?:(\d+)|['"]([^'"]+)['"])\s*\]$""")


def parse_slot(text: str | Slot) -> Slot:
    """``"W"``, ``"params['W']"`` or ``"params[0]"`` as a Slot."""
    if isinstance(text, Slot):
        return text
    match = _SLOT.match(text.strip())
    if not match:
        return Slot(text)
    attr, index, key = match.groups()
    return Slot(attr, int(index) if index is not None else key)


def grad_candidates(param: str) -> list[str]:
    """Where course code usually stores a parameter's gradient, most common first."""
    return [f"d{param}", f"grad_{param}", f"{param}_grad", f"d_{param}", f"grad{param}", f"{param}grad"]


def _is_float_array(value: Any) -> bool:
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def detect_params(obj: Any) -> list[str]:
    """The parameters of a layer, as written: float-array attributes whose names say they are
    parameters, and the float arrays in a ``params`` dict or list."""
    return [str(slot) if slot.key is not None else slot.attr for slot in detect_slots(obj)]


def detect_slots(obj: Any) -> list[Slot]:
    found = []
    for attr, value in vars(obj).items():
        is_param_name = attr in PARAM_NAMES or (attr[:1] in "Wb" and attr[1:].isdigit())
        if is_param_name and _is_float_array(value):
            found.append(Slot(attr))
        elif attr in PARAM_CONTAINERS and isinstance(value, dict):
            found += [Slot(attr, k) for k, v in value.items() if isinstance(k, str) and _is_float_array(v)]
        elif attr in PARAM_CONTAINERS and isinstance(value, list):
            found += [Slot(attr, i) for i, v in enumerate(value) if _is_float_array(v)]
    return found


def _all_float_slots(obj: Any) -> list[Slot]:
    """Every float array a layer holds, at the top level or one dict or list down."""
    found = []
    for attr, value in vars(obj).items():
        if _is_float_array(value):
            found.append(Slot(attr))
        elif isinstance(value, dict):
            found += [Slot(attr, k) for k, v in value.items() if isinstance(k, str) and _is_float_array(v)]
        elif isinstance(value, list):
            found += [Slot(attr, i) for i, v in enumerate(value) if _is_float_array(v)]
    return found


def unregistered_arrays(obj: Any, slots: Sequence[Slot]) -> list[Slot]:
    """Float arrays the layer holds that are neither a registered parameter nor a gradient slot."""
    taken = {(s.attr, s.key) for s in slots}
    taken |= {(g.attr, g.key) for s in slots for g in s.grad_slots()}
    return [
        s for s in _all_float_slots(obj) if (s.attr, s.key) not in taken and s.attr not in GRAD_CONTAINERS
    ]


def _param_map(obj: Any, params: Mapping[str, str] | Sequence[str] | None) -> dict[Slot, Slot | None]:
    """Parameter slot -> gradient slot (None: find it by the naming patterns)."""
    if params is None:
        return dict.fromkeys(detect_slots(obj))
    if isinstance(params, Mapping):
        return {parse_slot(p): parse_slot(g) for p, g in params.items()}
    return dict.fromkeys(parse_slot(p) for p in params)


def _find_grad(obj: Any, param: Slot, where: Slot | None, label: str) -> np.ndarray:
    slots = [where] if where else param.grad_slots()
    for slot in slots:
        value = slot.get(obj)
        if value is not None:
            return np.asarray(value)
    looked = ", ".join(str(s) for s in slots[:8]) + (", ..." if len(slots) > 8 else "")
    raise AttributeError(
        f"{label}: after backward there is no gradient for parameter {str(param)!r} (looked for {looked}); "
        f"say where it lands with params={{{str(param)!r}: 'attribute'}}"
    )


def _zero_grads(obj: Any, mapping: Mapping[Slot, Slot | None]) -> None:
    """Zero every existing gradient slot, so `+=` and `=` styles both read right."""
    for param, where in mapping.items():
        for slot in [where] if where else param.grad_slots():
            if slot.get(obj) is not None:
                slot.set(obj, np.zeros_like(param.get(obj)))


def layer(
    obj: Any,
    x: Node,
    name: str,
    params: Mapping[str, str] | Sequence[str] | None = None,
    *,
    formula: str | None = None,
    kink: Callable[..., np.ndarray] | None = None,
) -> Node:
    """One call ``obj.forward(x)`` as a node; its parameters become leaf nodes ``name.W``.

    ``params``: the parameters (default: float arrays named W, b, weight, bias, ..., and the float
    arrays of a ``params`` dict or list), as attribute names or ``"params['W']"``; or a dict from
    parameter to where its gradient lands (default: dW, grad_W, W_grad, ..., or ``grads['W']``).
    A float array the layer holds that is not a parameter is reported in the check's warnings.
    ``kink``: for layers like ReLU, a function of x whose sign changes at the non-differentiable
    points. The parameter nodes are ``g["name.W"]``, e.g. for a penalty term on them.
    """
    label = type(obj).__name__
    mapping = _param_map(obj, params)
    for slot in mapping:
        if not isinstance(slot.get(obj), np.ndarray):
            raise ValueError(f"{label}.{slot} is not a numpy array, so it cannot be a parameter")
    graph = x.graph
    slots = list(mapping)
    leftover = unregistered_arrays(obj, slots)
    if leftover:
        held = ", ".join(str(s) for s in leftover)
        graph.warnings.append(
            f"{name} ({label}) holds float array(s) {held} not registered as parameters: their "
            f"gradients are not checked (list them with params=[...] if they are trained)"
        )
    leaves = [graph.param(f"{name}.{slot.label}", slot.get(obj)) for slot in slots]

    def load(values: Sequence[np.ndarray]) -> None:
        for slot, value in zip(slots, values, strict=True):
            slot.set(obj, value)

    def forward(inp: np.ndarray, *values: np.ndarray) -> np.ndarray:
        held = [slot.get(obj) for slot in slots]
        load(values)
        try:
            return obj.forward(inp)
        finally:  # a probe's values (views of a batch of copies) are not kept alive by the object
            load(held)

    def backward(upstream: np.ndarray, out: np.ndarray, inp: np.ndarray, *values: np.ndarray):
        held = [slot.get(obj) for slot in slots]
        load(values)
        try:
            obj.forward(inp)  # the checker's probes overwrote the layer's cache: restore it
            _zero_grads(obj, mapping)
            # backward(dy), or backward(x, grad_output): the style that takes the input again
            dx = (
                obj.backward(inp, upstream)
                if _positional_count(obj.backward) >= 2
                else obj.backward(upstream)
            )
            grads = [_find_grad(obj, slot, mapping[slot], label) for slot in slots]
        finally:  # the checker's copies of the parameters are not kept alive by the object either
            load(held)
        return (dx, *grads)

    inputs = ", ".join(["{0}"] + [f"{{{i + 1}}}" for i in range(len(slots))])
    op = Op(
        label,
        forward,
        with_origin(backward, obj.backward),
        formula or f"{{out}} = {label}({inputs})",
        1 + len(slots),
        kink=(lambda inp, *values: kink(inp)) if kink else None,
    )
    return op(x, *leaves, name=name)


def _positional_count(fn: Callable[..., Any]) -> int:
    """How many positional arguments ``fn`` requires (self not counted for a bound method)."""
    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return sum(1 for p in parameters if p.kind in kinds and p.default is inspect.Parameter.empty)


def cache_op(
    name: str,
    forward: Callable[..., tuple[Any, Any]],
    backward: Callable[[np.ndarray, Any], Any],
    formula: str = "",
    *,
    kink: Callable[..., np.ndarray] | None = None,
) -> Op:
    """An op from the (out, cache) style: ``forward(*inputs) -> (out, cache)``,
    ``backward(dout, cache) -> dx`` or a tuple of one gradient per input. ``kink``: a function of
    the inputs whose sign changes at the non-differentiable points (relu_forward: ``lambda x: x``)."""

    def vjp(upstream: np.ndarray, out: np.ndarray, *inputs: np.ndarray):
        _, cache = forward(*inputs)
        return backward(upstream, cache)

    return Op(name, lambda *inputs: forward(*inputs)[0], with_origin(vjp, backward), formula, kink=kink)


def jacobian_op(
    name: str,
    forward: Callable[[np.ndarray], np.ndarray],
    jacobian: Callable[[np.ndarray], np.ndarray],
    formula: str = "",
    *,
    of: str = "output",
) -> Op:
    """A one-input op whose derivative is written as a full Jacobian matrix, the way lectures
    write ``softmax_grad(s)``: ``jacobian(s)`` (``of="output"``) or ``jacobian(x)`` (``of="input"``)
    returns d out / d x with one row per output element and one column per input element. The
    adapter turns it into the vector-Jacobian product the check needs: ``upstream @ J``."""
    if of not in ("output", "input"):
        raise ValueError(f"jacobian_op: of must be 'output' or 'input', not {of!r}")

    def vjp(upstream: np.ndarray, out: np.ndarray, x: np.ndarray) -> np.ndarray:
        matrix = np.asarray(jacobian(out if of == "output" else x))
        if matrix.shape != (out.size, x.size):
            raise ValueError(
                f"{name}: the Jacobian has shape {list(matrix.shape)}, expected "
                f"[{out.size}, {x.size}] (outputs × inputs)"
            )
        return (upstream.reshape(-1) @ matrix).reshape(x.shape)

    return Op(name, forward, with_origin(vjp, jacobian), formula, 1)


def loss(
    obj_or_fn: Any,
    pred: Node,
    target: Any,
    name: str = "loss",
    formula: str | None = None,
    *,
    target_first: bool = False,
) -> Node:
    """A loss on ``pred`` against a fixed ``target``: an object with ``forward(pred, target)`` and
    ``backward()`` or ``backward(pred, target)`` (returning dL/dpred), or a function
    ``(pred, target) -> (loss, dpred)``; ``target_first=True`` for ``mse_loss(y, y_hat)``."""
    target = np.asarray(target)
    label = getattr(obj_or_fn, "__name__", type(obj_or_fn).__name__)

    def args(p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return (target, p) if target_first else (p, target)

    if callable(getattr(obj_or_fn, "forward", None)):
        forward = lambda p: obj_or_fn.forward(*args(p))  # noqa: E731
        takes_args = _positional_count(obj_or_fn.backward) >= 2

        def vjp(upstream: np.ndarray, out: np.ndarray, p: np.ndarray) -> np.ndarray:
            obj_or_fn.forward(*args(p))
            grad = obj_or_fn.backward(*args(p)) if takes_args else obj_or_fn.backward()
            return np.asarray(grad) * upstream

        source = obj_or_fn.backward
    else:
        forward = lambda p: obj_or_fn(*args(p))[0]  # noqa: E731

        def vjp(upstream: np.ndarray, out: np.ndarray, p: np.ndarray) -> np.ndarray:
            return np.asarray(obj_or_fn(*args(p))[1]) * upstream

        source = obj_or_fn
    op = Op(label, forward, with_origin(vjp, source), formula or f"{{out}} = {label}({{0}}, target)", 1)
    return op(pred, name=name)


def with_origin(wrapper: Callable[..., Any], user_code: Callable[..., Any]) -> Callable[..., Any]:
    """Point error reports about ``wrapper`` at the author's function, not at this adapter."""
    code = getattr(user_code, "__code__", None) or getattr(
        getattr(user_code, "__func__", None), "__code__", None
    )
    if code is not None:
        wrapper.__wrapped_code__ = code  # type: ignore[attr-defined]
    return wrapper
