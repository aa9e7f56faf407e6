"""A torch model as a graph: ``torch.fx`` traces its forward into one node per call.

Each call becomes one node: a submodule (``self.fc1``: its parameters become leaves ``fc1.weight``,
``fc1.bias``), a torch function or tensor method, and each custom ``torch.autograd.Function``
(``MyFunction.apply`` is kept whole, not traced through). Every node's backward is torch's own for
that one call, so the check blames the one custom Function whose backward is wrong, with the same
words as for numpy code (README, "From PyTorch and JAX").

Values that do not depend on the inputs or parameters (shapes, sizes, fixed tensors), and integer or
boolean results (an ``argmax``, a mask), are computed once while tracing and baked into the calls
that use them: they are constant under the check's small probes.
"""

from __future__ import annotations

import copy
import operator
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tui_backprop.core.errors import is_author_file
from tui_backprop.core.graph import Graph, Node, Origin
from tui_backprop.interop.calls import Arguments, call_op
from tui_backprop.interop.torch_ops import TorchCall, constant, torch

fx = torch.fx


class Apply:
    """``MyFunction.apply`` as one fx call: the custom Function stays one node, its backward its own."""

    def __init__(self, function: type) -> None:
        self.function = function
        self.__name__ = function.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function.apply(*args, **kwargs)


@contextmanager
def functions_kept_whole() -> Iterator[None]:
    """While tracing, ``Function.apply`` on a traced value records one call instead of running the
    Function's forward on proxies (which would inline it and lose its backward)."""
    base = torch.autograd.Function
    original = base.__dict__["apply"]

    def apply(cls: type, *args: Any, **kwargs: Any) -> Any:
        leaves = torch.utils._pytree.tree_leaves((args, kwargs))
        proxy = next((a for a in leaves if isinstance(a, fx.Proxy)), None)
        if proxy is None:
            return original.__func__(cls, *args, **kwargs)
        return proxy.tracer.create_proxy("call_function", Apply(cls), args, kwargs)

    base.apply = classmethod(apply)
    try:
        yield
    finally:
        base.apply = original


def trace_fx(model: Any) -> tuple[Any, Any]:
    """The fx graph of ``model`` (a module or a function) and the module its attributes live on."""
    tracer = fx.Tracer()
    tracer.record_stack_traces = True
    with functions_kept_whole():
        graph = tracer.trace(model)
    return graph, tracer.root


@dataclass
class Live:
    """A traced value that depends on the inputs or parameters: a graph node, and its value now."""

    node: Node
    value: Any


@dataclass
class Multi:
    """A call that returns several tensors: one node per output, made when that output is used."""

    make: Callable[[int, str | None], Live]
    value: tuple[Any, ...]
    made: dict[int, Live] = field(default_factory=dict)

    def output(self, index: int, name: str | None = None) -> Live:
        if index not in self.made:
            self.made[index] = self.make(index, name)
        return self.made[index]

    def outputs(self) -> tuple[Live, ...]:
        """Used whole (``torch.cat(torch.split(x, 2))``): every output as its node."""
        return tuple(self.output(i) for i in range(len(self.value)))


INPLACE_OPERATORS = {operator.iadd, operator.isub, operator.imul, operator.itruediv, operator.ipow}
"""``x += y`` and its kin: fx records them as these."""

WEIGHTS = "__weights__"
"""Where a submodule's parameter leaves ride among a call's arguments (after every other input)."""


class ModelTracer:
    """Adds the nodes of one traced model to a graph (see :func:`torch_model`)."""

    def __init__(self, graph: Graph, model: Any) -> None:
        self.graph = graph
        self.dtype = getattr(torch, graph.dtype_name)
        if isinstance(model, torch.nn.Module):  # our own copy in the graph's dtype, in eval mode (no dropout)
            model = copy.deepcopy(model).to(self.dtype).eval()
        self.model = model
        self.fx_graph, self.root = trace_fx(model)
        self.params: dict[int, Live] = {}
        self.values: dict[str, Any] = {}
        """Every node's value while tracing, by name."""

    def placeholders(self) -> list[str]:
        return [str(n.target) for n in self.fx_graph.nodes if n.op == "placeholder"]

    def add(self, inputs: Sequence[Node]) -> Any:
        """Add one node per call, fed by ``inputs`` (leaves); return the output's node(s)."""
        names = self.placeholders()
        if len(inputs) != len(names):
            raise TypeError(
                f"{label_of(self.model)} takes {len(names)} input(s) ({', '.join(names)}), "
                f"given {len(inputs)}"
            )
        env: dict[Any, Any] = {}
        feed = iter(inputs)
        for fx_node in self.fx_graph.nodes:
            if fx_node.op == "placeholder":
                env[fx_node] = self.live(next(feed))
            elif fx_node.op == "get_attr":
                env[fx_node] = self.attribute(str(fx_node.target))
            elif fx_node.op == "output":
                found = fx.node.map_arg(fx_node.args[0], lambda n: env[n])
                return _nodes(found, label_of(self.model))
            else:
                env[fx_node] = self.call(fx_node, env)
        raise TypeError(f"{label_of(self.model)}: its traced graph has no output")

    def live(self, node: Node, value: Any = None) -> Live:
        if value is None:
            if node.value is None:
                raise TypeError(
                    f"the inputs of a torch model must be leaves (g.input, g.param), not {node.name!r}"
                )
            value = torch.from_numpy(np.asarray(node.value, dtype=self.graph.dtype).copy())
        self.values[node.name] = value
        return Live(node, value)

    # ------------------------------------------------------------ parameters and constants
    def attribute(self, target: str) -> Any:
        value = self.root
        for part in target.split("."):
            value = getattr(value, part)
        if isinstance(value, torch.nn.Parameter) and value.requires_grad:
            return self.param(target, value)
        return value

    def param(self, qualified: str, value: Any) -> Live:
        """One leaf per parameter, however many calls share it (tied weights)."""
        if id(value) not in self.params:
            name = self.free(qualified)
            leaf = self.graph.param(name, value.detach().cpu().numpy())
            self.params[id(value)] = self.live(leaf, value.detach())
        return self.params[id(value)]

    def free(self, name: str) -> str:
        return name if name not in self.graph else self.graph.fresh_name(name + "_")

    # ------------------------------------------------------------ calls
    def call(self, fx_node: Any, env: dict[Any, Any]) -> Any:
        """One call as a node (a ``Live``), a ``Multi`` of several, or a constant."""
        if fx_node.op == "call_function" and fx_node.target is operator.getitem:
            holder, index = fx.node.map_arg(fx_node.args, lambda n: env[n])
            if isinstance(holder, Multi) and isinstance(index, int):
                return holder.output(index, fx_node.name)
        args = fx.node.map_arg(fx_node.args, lambda n: _whole(env[n]))
        kwargs = fx.node.map_arg(fx_node.kwargs, lambda n: _whole(env[n]))
        target = self.target_of(fx_node)
        node_of = lambda a: a.node if isinstance(a, Live) else None  # noqa: E731
        arguments = Arguments.of(args, {**kwargs, WEIGHTS: tuple(target.params)}, node_of)
        formula = Arguments.of(args, kwargs, node_of).formula(target.label)

        def fn(*tensors: Any) -> Any:
            filled, named = arguments.fill(tensors, lambda c: _cast(constant(c), tensors))
            return target.run(named.pop(WEIGHTS), *filled, **named)

        with torch.no_grad():
            result = fn(*(self.values[n.name] for n in arguments.inputs))
        if not arguments.inputs:
            return result  # depends on nothing traced: a constant
        writes = _writes_inputs(fx_node, self.root)
        origin = _origin(fx_node)

        def make(output: int | None, name: str | None = None) -> Live:
            call = TorchCall(fn, target.label, output, writes)
            suffix = "" if output is None else f"[{output}]"
            op = call_op(call, formula + suffix, arity=len(arguments.inputs), backward_code=target.backward)
            stem = name or (fx_node.name if output is None else f"{fx_node.name}.{output}")
            node = op(*arguments.inputs, name=self.free(stem))
            if origin is not None:
                node.origin = origin
            return self.live(node, result if output is None else result[output])

        if isinstance(result, torch.Tensor) and result.is_floating_point():
            return make(None)
        if isinstance(result, tuple | list) and result and all(isinstance(r, torch.Tensor) for r in result):
            return Multi(make, tuple(result))
        return result  # a size, a shape, an integer or boolean tensor: constant under the probes

    def target_of(self, fx_node: Any) -> Target:
        """What a call runs; a submodule's parameters become leaves."""
        if fx_node.op == "call_module":
            module = self.root.get_submodule(fx_node.target)
            named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
            params = [self.param(f"{fx_node.target}.{n}", p) for n, p in named]
            buffers = dict(module.named_buffers())

            def run_module(weights: Sequence[Any], *args: Any, **kwargs: Any) -> Any:
                dtype = weights[0].dtype if weights else self.dtype
                state = {n: w for (n, _), w in zip(named, weights, strict=True)}
                state |= {n: b.to(dtype) if b.is_floating_point() else b for n, b in buffers.items()}
                return torch.func.functional_call(module, state, args, kwargs)

            return Target(run_module, type(module).__name__, params)
        if fx_node.op == "call_method":
            method = str(fx_node.target)
            return Target(lambda _w, obj, *a, **k: getattr(obj, method)(*a, **k), method)
        function = fx_node.target
        backward = function.function.backward if isinstance(function, Apply) else None
        return Target(lambda _w, *a, **k: function(*a, **k), function_name(function), backward=backward)


@dataclass(frozen=True)
class Target:
    """What one call runs: ``run(weights, *args, **kwargs)``, with a submodule's parameter leaves as
    ``weights``; ``backward``: a custom Function's own, where errors in the node's backward point."""

    run: Callable[..., Any]
    label: str
    params: list[Live] = field(default_factory=list)
    backward: Callable[..., Any] | None = None


def _whole(value: Any) -> Any:
    return tuple(value.outputs()) if isinstance(value, Multi) else value


def _nodes(found: Any, label: str) -> Any:
    """The model's output structure with each traced tensor as its node."""
    if isinstance(found, Live):
        return found.node
    if isinstance(found, Multi):
        return tuple(live.node for live in found.outputs())
    if isinstance(found, list | tuple):
        return tuple(_nodes(f, label) for f in found)
    if isinstance(found, dict):
        return {k: _nodes(v, label) for k, v in found.items()}
    raise TypeError(f"{label} returns {type(found).__name__}, which depends on no input: nothing to check")


def _cast(value: Any, tensors: Sequence[Any]) -> Any:
    """A fixed floating tensor in the dtype the call runs in (the model's own may be float32)."""
    if isinstance(value, torch.Tensor) and value.is_floating_point() and tensors:
        return value.to(tensors[0].dtype)
    return value


def _writes_inputs(fx_node: Any, root: Any) -> bool:
    """Does this call change its inputs in place (``x.relu_()``, ``nn.ReLU(inplace=True)``)?"""
    if fx_node.kwargs.get("inplace"):
        return True
    if fx_node.op == "call_method":
        name = str(fx_node.target)
        return name.endswith("_") and not name.endswith("__")
    if fx_node.op == "call_module":
        return bool(getattr(root.get_submodule(fx_node.target), "inplace", False))
    if fx_node.target in INPLACE_OPERATORS:
        return True
    name = getattr(fx_node.target, "__name__", "")
    return name.endswith("_") and not name.endswith("__")


def function_name(target: Any) -> str:
    """``relu`` for torch.relu, ``add`` for operator.add, the class name for a custom Function."""
    name = getattr(target, "__name__", None) or type(target).__name__
    return name.strip("_") or name


_FRAME = re.compile(r'File "([^"]+)", line (\d+)')


def _origin(fx_node: Any) -> Origin | None:
    """The line of the model's forward that made this call (fx records the stack while tracing)."""
    frames = [(f, int(line)) for f, line in _FRAME.findall(fx_node.stack_trace or "") if is_author_file(f)]
    return Origin(*frames[-1]) if frames else None


def label_of(model: Any) -> str:
    return getattr(model, "__name__", None) or type(model).__name__


def torch_model(graph: Graph, model: Any, *inputs: Node) -> Any:
    """Trace ``model`` (an ``nn.Module`` or a function of tensors) with torch.fx into one node per call,
    fed by ``inputs``; return its output node (or a tuple of them, as the model returns).

    The model is copied, cast to the graph's dtype and put in eval mode (no dropout; batch norm on
    its running statistics). Its parameters become param leaves named as in ``named_parameters()``.
    """
    return ModelTracer(graph, model).add(inputs)
