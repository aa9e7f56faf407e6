"""The element to follow: which element of each tensor the teaching views write out, and its path.

A lecture follows one number through the graph ("now follow W1[1,0]"). :class:`Focus` holds the
lecturer's choice per tensor (by node name, so it stays while stepping) and gives every teaching
function (the chain rule with numbers, the numeric probe, nudge, the step-size sweep, the quiz)
the same element of a tensor: the chosen one, else :func:`default_index`, the first element the
check flags (where its result may be shown), else the one with the largest final gradient.

:func:`element_path` says which elements of its neighbours an element touches: the input elements
the node's backward rule sends its gradient to (what it is computed from, when the rule is right)
and, per consumer, the output elements it feeds (whose gradients flow back into it), for the
circuit and the presenter to highlight.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tui_backprop.core.trace import BackwardRuleError, Trace, call_backward

if TYPE_CHECKING:
    from tui_backprop.check.results import NodeCheck

Array = np.ndarray
Index = tuple[int, ...]
Shown = Callable[[str], bool]
"""May the check result of this node be shown yet (README: no spoilers)?"""


def element_label(name: str, index: Index) -> str:
    """``x`` for a scalar, ``W1[1, 0]`` for an element of a tensor."""
    return f"{name}[{', '.join(map(str, index))}]" if index else name


@dataclass(frozen=True)
class Element:
    """One element of one tensor (a node's value, and its gradient of the same shape)."""

    node: str
    index: Index

    @property
    def label(self) -> str:
        return element_label(self.node, self.index)


def fits(index: Index, shape: tuple[int, ...]) -> bool:
    """``index`` names an element of a tensor of ``shape``."""
    return len(index) == len(shape) and all(0 <= i < n for i, n in zip(index, shape, strict=True))


def parse_index(text: str, shape: tuple[int, ...]) -> Index:
    """``1,0``, ``[1, 0]`` or ``1 0`` as an element of ``shape``; ValueError says what is wrong."""
    parts = [p for p in text.strip().strip("[]()").replace(",", " ").split() if p]
    try:
        index = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(
            f"an element is whole numbers, e.g. {', '.join('0' * len(shape))}: not {text!r}"
        ) from None
    if not fits(index, shape):
        raise ValueError(f"[{', '.join(map(str, index))}] is not an element of a {list(shape)} tensor")
    return index


def flagged(
    trace: Trace, name: str, checks: Mapping[str, NodeCheck] | None = None, shown: Shown | None = None
) -> list[Index]:
    """Elements of ``name`` the check flags, where its result may be shown: first those a blamed
    consumer sends a wrong gradient (where the bug is), then those of dL/dname that differ."""
    if not checks:
        return []
    visible = shown or (lambda _: True)
    found: list[Index] = []
    for consumer, position in trace.consumers.get(name, []):
        nc = checks.get(consumer.name)
        if nc is not None and position in nc.local and visible(consumer.name):
            found += [i for i in nc.local[position].differing() if i not in found]
    nc = checks.get(name)
    if nc is not None and nc.grad is not None and visible(name):
        found += [i for i in nc.grad.differing() if i not in found]
    return found


def default_index(
    trace: Trace, name: str, checks: Mapping[str, NodeCheck] | None = None, shown: Shown | None = None
) -> Index:
    """The element the views follow unless told otherwise: the first flagged (see :func:`flagged`),
    else the one with the largest final |dL/dname| (it matters most; the same at every step, so the
    choice does not jump while stepping), else the first."""
    shape = trace.values[name].shape
    marked = flagged(trace, name, checks, shown)
    if marked:
        return marked[0]
    grad = np.asarray(trace.grads[name], dtype=np.float64)
    if grad.size <= 1:
        return tuple(0 for _ in shape)
    with np.errstate(all="ignore"):
        magnitude = np.where(np.isfinite(grad), np.abs(grad), -1.0)
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(magnitude)), shape))


@dataclass(frozen=True)
class Focus:
    """The element followed in each tensor: the lecturer's choices by node, else the default.

    Immutable: ``choose`` returns a new Focus, so a view holding one never sees it change under it.
    """

    chosen: Mapping[str, Index] = field(default_factory=dict)
    checks: Mapping[str, NodeCheck] | None = None
    shown: Shown | None = None

    def index(self, trace: Trace, name: str) -> Index:
        """The element of ``name`` to write out (a choice that no longer fits its shape is ignored)."""
        index = self.chosen.get(name)
        if index is not None and fits(index, trace.values[name].shape):
            return index
        return default_index(trace, name, self.checks, self.shown)

    def element(self, trace: Trace, name: str) -> Element:
        return Element(name, self.index(trace, name))

    def choose(self, name: str, index: Index) -> Focus:
        return Focus({**self.chosen, name: tuple(index)}, self.checks, self.shown)

    def forget(self, name: str) -> Focus:
        return Focus({k: v for k, v in self.chosen.items() if k != name}, self.checks, self.shown)

    def seeing(self, checks: Mapping[str, NodeCheck] | None, shown: Shown | None = None) -> Focus:
        """The same choices, defaulting from these check results."""
        return Focus(self.chosen, checks, shown)


FocusLike = Focus | Mapping[str, Index] | None
"""What the teaching functions take: a Focus, a plain {node: index} of choices, or None (defaults)."""


def as_focus(focus: FocusLike) -> Focus:
    if focus is None:
        return Focus()
    if isinstance(focus, Focus):
        return focus
    return Focus(dict(focus))


# ---------------------------------------------------------------- the path of an element
@dataclass(frozen=True)
class ElementPath:
    """Which elements of its neighbours one element touches (masks shaped like each neighbour).

    ``inputs``: per input of the element's op node, the elements its backward rule sends this
    element's gradient to; when the rule is right, exactly what the element is computed from.
    ``consumers``: per op that reads the element's node, the output elements it feeds (found by
    moving it), whose gradients flow back into it.
    """

    element: Element
    inputs: dict[str, Array]
    consumers: dict[str, Array]


PROBE_STEP = 1e-3
"""How far the element is moved to see which outputs of a consumer it feeds (relative, float64)."""


def element_path(trace: Trace, element: Element) -> ElementPath:
    """The neighbours ``element`` touches, forward and back (see :class:`ElementPath`)."""
    graph = trace.graph
    node = graph[element.node]
    inputs: dict[str, Array] = {}
    if node.op is not None and element.node in trace.contributions:
        out = trace.values[node.name]
        seed = np.zeros_like(out)
        seed[element.index] = 1
        xs = [trace.values[p.name] for p in node.inputs]
        try:
            sent = call_backward(node, seed, out, xs)
        except BackwardRuleError:
            sent = tuple(np.zeros_like(x) for x in xs)
        for parent, s in zip(node.inputs, sent, strict=True):
            mask = np.asarray(s) != 0
            inputs[parent.name] = inputs[parent.name] | mask if parent.name in inputs else mask
    consumers: dict[str, Array] = {}
    for consumer, position in trace.consumers.get(element.node, []):
        if consumer.name not in trace.forward_index:
            continue
        mask = _fed(trace, consumer.name, position, element.index)
        consumers[consumer.name] = consumers[consumer.name] | mask if consumer.name in consumers else mask
    return ElementPath(element, inputs, consumers)


def _fed(trace: Trace, name: str, position: int, index: Index) -> Array:
    """The output elements of op ``name`` that move when element ``index`` of its input moves."""
    node = trace.graph[name]
    assert node.op is not None
    base = [np.asarray(trace.values[p.name], dtype=np.float64) for p in node.inputs]
    out = np.asarray(trace.values[name], dtype=np.float64)
    moved = np.zeros(out.shape, dtype=bool)
    step = PROBE_STEP * max(1.0, abs(float(base[position][index])))
    try:
        with np.errstate(all="ignore"):
            reference = np.asarray(node.op.forward(*(v.copy() for v in base)), dtype=np.float64)
            for sign in (1, -1):
                xs = [v.copy() for v in base]
                xs[position][index] += sign * step
                result = np.asarray(node.op.forward(*xs), dtype=np.float64)
                if result.shape == reference.shape == out.shape:
                    moved |= result != reference
    except Exception:  # the author's forward on a moved value: no path rather than a crash
        return np.zeros(out.shape, dtype=bool)
    return moved
