"""``--torch package.module:Thing --input-shape 4x8``: a scenario made from a torch object by itself.

``Thing`` is a custom ``torch.autograd.Function`` (one node), an ``nn.Module`` class (made with no
arguments, torch seeded) or instance, or a function of tensors (both traced with torch.fx, one node
per call). Its inputs are leaves of the given shapes drawn from a seeded normal distribution; the
loss is ``Σ output · r`` with ``r`` seeded random too, so every output element counts and none cancels
(README, "From PyTorch and JAX").
"""

from __future__ import annotations

import importlib
import inspect
import os
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

from tui_backprop.core import ops
from tui_backprop.core.errors import ScenarioError, describe_exception, not_installed, origin_of_exception
from tui_backprop.core.graph import Graph, Node, Origin
from tui_backprop.core.scenarios import Scenario, from_build
from tui_backprop.interop.extras import installed

Shape = tuple[int, ...]
SEED = 0


def shape_text(shape: Shape) -> str:
    return "x".join(str(n) for n in shape) or "scalar"


def target_scenario(target: str, shapes: Sequence[Shape]) -> Scenario:
    """The scenario of ``package.module:Thing`` fed inputs of ``shapes``; ScenarioError if it cannot be."""
    if not installed("torch"):
        raise ScenarioError(f"--torch: {not_installed('torch')}")
    thing, source = _resolve(target)
    kind = _kind_of(thing, target, source)
    shown = ", ".join(shape_text(s) for s in shapes)

    def build(g: Graph, bug: str | None = None) -> Node:
        return build_target(g, thing, kind, shapes)

    build.__doc__ = (
        f"{target} (torch)\n\n"
        f"{_what(kind)}, fed seeded random inputs of shape {shown}; "
        "loss = Σ output · r, r seeded random."
    )
    return from_build(build, slug=target, kind="torch", source=source)


def build_target(g: Graph, thing: Any, kind: str, shapes: Sequence[Shape]) -> Node:
    """Inputs of ``shapes``, the target on them, and the loss ``Σ output · r``."""
    from tui_backprop.interop.fx_model import ModelTracer
    from tui_backprop.interop.torch_ops import to_tensor, torch, torch_op

    tracer = None
    if kind == "module class":
        torch.manual_seed(SEED)
        thing = thing()
    if kind == "function":
        names = function_inputs(thing)
    else:
        tracer = ModelTracer(g, thing)
        names = tracer.placeholders()
    if len(names) != len(shapes):
        listed = ", ".join(names) or "none"
        raise TypeError(
            f"{label_of(thing)} takes {len(names)} tensor input(s) ({listed}); "
            f"give one --input-shape for each, not {len(shapes)}"
        )
    rng = np.random.default_rng(SEED)
    inputs = [
        g.input(_free(g, n), rng.standard_normal(shape)) for n, shape in zip(names, shapes, strict=True)
    ]
    if tracer is not None:
        outputs = [(n, tuple(tracer.values[n.name].shape)) for n in _flat(tracer.add(inputs))]
    else:
        with torch.no_grad():
            result = thing.apply(*(to_tensor(x.value.astype(g.dtype)) for x in inputs))
        results = list(result) if isinstance(result, tuple | list) else [result]
        made = torch_op(thing, outputs=len(results))(*inputs, name=_free(g, thing.__name__))
        outputs = list(zip(made if len(results) > 1 else [made], (r.shape for r in results), strict=True))
    return loss_of(g, outputs, rng)


def loss_of(g: Graph, outputs: Sequence[tuple[Node, Shape]], rng: np.random.Generator) -> Node:
    """``loss = Σ y · r`` summed over every output ``y``, each with its own seeded random ``r``."""
    sums = []
    for k, (y, shape) in enumerate(outputs):
        suffix = "" if len(outputs) == 1 else str(k)
        r = g.input(_free(g, f"r{suffix}"), rng.standard_normal(shape))
        last = len(outputs) == 1
        sums.append(
            ops.sum(
                ops.mul(y, r, name=_free(g, f"{y.name}·r")), name=_free(g, "loss" if last else f"Σ{y.name}·r")
            )
        )
    total = sums[0]
    for k, term in enumerate(sums[1:], start=2):
        total = ops.add(total, term, name=_free(g, "loss") if k == len(sums) else None)
    return total


def _flat(found: Any) -> list[Node]:
    if isinstance(found, Node):
        return [found]
    if isinstance(found, dict):
        found = list(found.values())
    return [n for item in found for n in _flat(item)]


def _free(g: Graph, name: str) -> str:
    return name if name not in g else g.fresh_name(name + "_")


# ---------------------------------------------------------------- finding the target
def _resolve(target: str) -> tuple[Any, str]:
    """``package.module:Thing`` (``Thing`` may be dotted) imported, with the module's file."""
    module_name, colon, attribute = target.partition(":")
    if not colon or not module_name or not attribute:
        raise ScenarioError(f"--torch takes package.module:Name, not {target!r}")
    cwd = os.getcwd()
    added = cwd not in sys.path  # as `python -m` does: modules beside the working directory import
    if added:
        sys.path.insert(0, cwd)
    try:
        module = importlib.import_module(module_name)
    except BaseException as exc:
        from tui_backprop.core.sandbox import is_user_fault

        if not is_user_fault(exc):
            raise
        raise ScenarioError(
            f"importing {module_name} failed: {describe_exception(exc)}", origin_of_exception(exc)
        ) from exc
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)
    source = getattr(module, "__file__", None) or module_name
    thing: Any = module
    for part in attribute.split("."):
        if not hasattr(thing, part):
            raise ScenarioError(f"{module_name} has no {attribute!r}", Origin(source, 1))
        thing = getattr(thing, part)
    return thing, source


def _kind_of(thing: Any, target: str, source: str) -> str:
    from tui_backprop.interop.torch_ops import torch

    if isinstance(thing, type) and issubclass(thing, torch.autograd.Function):
        return "function"
    if isinstance(thing, type) and issubclass(thing, torch.nn.Module):
        return "module class"
    if isinstance(thing, torch.nn.Module):
        return "module"
    if callable(thing) and not isinstance(thing, type):
        return "callable"
    raise ScenarioError(
        f"{target} is a {type(thing).__name__}: --torch takes a torch.autograd.Function, "
        "an nn.Module (class or instance) or a function of tensors",
        Origin(source, 1),
    )


def _what(kind: str) -> str:
    if kind == "function":
        return "A custom torch.autograd.Function, its backward as written"
    return "Traced with torch.fx, one node per call (modules, functions, custom Functions)"


def function_inputs(function: type) -> list[str]:
    """A custom Function's tensor inputs: its forward's parameters after ``ctx`` (none with setup_context),
    those without a default."""
    from tui_backprop.interop.torch_ops import torch

    parameters = list(inspect.signature(function.forward).parameters.values())
    if function.setup_context is torch.autograd.Function.setup_context:
        parameters = parameters[1:]  # ctx
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in parameters if p.kind in positional and p.default is inspect.Parameter.empty]


def label_of(thing: Any) -> str:
    return getattr(thing, "__name__", None) or type(thing).__name__
