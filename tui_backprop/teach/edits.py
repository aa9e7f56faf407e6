"""Playing with a graph: editing a leaf's value, nudging it by h, and undoing either.

Edits are kept by leaf name, apart from the graph (which a run never changes): a re-run passes
them to ``trace.run`` as ``leaf_values``. Keyed by name, they survive a live reload wherever the
leaf still exists with the same shape. A nudge is an edit by +h whose lesson is the one Karpathy's
lecture draws: the loss moves by about h times the gradient.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from tui_backprop.core.graph import Graph, Node
from tui_backprop.core.trace import Trace, run
from tui_backprop.teach.element import FocusLike, as_focus, element_label
from tui_backprop.teach.typed_numbers import NotANumberError, parse_value

Array = np.ndarray
Index = tuple[int, ...]

NUDGE_H = 1e-3
"""The lecture's h: big enough that the loss visibly moves, small enough to be a derivative."""
NUDGE_AGREES = 1e-2
"""ΔL/h and the gradient agree (✓) when within 1 % of each other: a one-sided difference is
off by about h·f''/2, far below this for the built-in scenarios."""


class EditError(ValueError):
    """An edit that cannot be made: not a leaf, a wrong index, or a value refused (message says why)."""


@dataclass
class Edits:
    """Leaf values the user changed, by leaf name, with an undo history."""

    values: dict[str, Array] = field(default_factory=dict)
    history: list[tuple[str, Array | None]] = field(default_factory=list)
    """(leaf, its edited value before the change, or None when it had the file's value)."""

    def __bool__(self) -> bool:
        return bool(self.values)

    def set(self, name: str, value: Array) -> None:
        self.history.append((name, self.values.get(name)))
        self.values[name] = np.array(value, dtype=np.float64)

    def undo(self) -> str | None:
        """Return the last changed leaf to its previous value; its name, or None with nothing to undo."""
        if not self.history:
            return None
        name, previous = self.history.pop()
        if previous is None:
            self.values.pop(name, None)
        else:
            self.values[name] = previous
        return name

    def carry_over(self, graph: Graph) -> list[str]:
        """Keep the edits whose leaf still exists with the same shape in a rebuilt graph.

        Returns the names of the edits dropped. An edit equal to the new file's value is dropped
        silently: the file now says the same.
        """
        dropped = []
        for name in list(self.values):
            node = graph[name] if name in graph else None  # noqa: SIM401 (a Graph has no .get)
            shape = node.value.shape if node is not None and node.value is not None else None
            if node is None or not node.is_leaf or shape != self.values[name].shape:
                dropped.append(name)
                del self.values[name]
            elif np.array_equal(node.value, self.values[name]):
                del self.values[name]
        self.history = [(n, v) for n, v in self.history if n in self.values]
        return dropped

    def differing(self, graph: Graph) -> list[str]:
        """The leaves whose value differs from what the scenario file gives them."""
        return [
            name
            for name, value in self.values.items()
            if name in graph and not np.array_equal(graph[name].value, value)
        ]

    def copy(self) -> Edits:
        return Edits(dict(self.values), list(self.history))


def check_element(name: str, index: Index, shape: tuple[int, ...]) -> None:
    """Refuse an index that names no element of a leaf of ``shape`` (too many or too few numbers,
    or one out of range, negatives included: a typed ``W[-1, 0]`` is a slip, not numpy's wrap)."""
    if len(index) != len(shape):
        raise EditError(
            f"{name} has {len(shape)} dimension(s) {list(shape)}: "
            f"write {len(shape)} index number(s), e.g. {element_label(name, tuple(0 for _ in shape))}"
        )
    for axis, (i, n) in enumerate(zip(index, shape, strict=True)):
        if not 0 <= i < n:
            raise EditError(
                f"{element_label(name, index)} is not an element of {name} {list(shape)}: "
                f"index {axis + 1} must be from 0 to {n - 1}"
            )


def leaf(graph: Graph, name: str) -> Node:
    if name not in graph:
        raise EditError(f"no node named {name!r}")
    node = graph[name]
    if not node.is_leaf:
        raise EditError(f"{name} is computed by an op ({node.formula()}): edit one of its leaves instead")
    return node


def current_value(trace: Trace, name: str) -> Array:
    """The leaf's value as the trace ran it (the file's, or the edited one), in float64."""
    return np.asarray(trace.values[name], dtype=np.float64)


def edited_value(trace: Trace, name: str, index: Index | None, text: str) -> Array:
    """The leaf's whole new value from what was typed.

    A list literal replaces the whole tensor; a number or an arithmetic expression replaces the
    element at ``index`` (or the scalar). Raises ``EditError`` with a message, value unchanged.
    """
    leaf(trace.graph, name)
    old = current_value(trace, name)
    try:
        if text.strip().startswith("[") or old.ndim == 0:
            new = parse_value(text, old.shape)
        else:
            if index is None:
                raise EditError(f"choose an element of {name} or type a list of shape {list(old.shape)}")
            check_element(name, index, old.shape)
            new = old.copy()
            new[index] = parse_value(text, ())
    except NotANumberError as exc:
        raise EditError(str(exc)) from None
    if not np.all(np.isfinite(new)):
        raise EditError("every value must be finite")
    return new


def rerun(graph: Graph, output: Node, edits: Edits) -> Trace:
    """Run the graph with the edited leaf values (raises ``ScenarioError`` like any run)."""
    return run(graph, output, edits.values)


def first_nonfinite(trace: Trace) -> str | None:
    """Where a NaN or an infinity first appears: the first node forward, else the first backward."""
    for node in trace.graph.nodes:
        value = trace.values[node.name]
        if not np.all(np.isfinite(value)):
            what = node.formula() if node.op is not None else f"{node.kind} {node.name}"
            return f"{node.name} ({what}) is {_bad(value)}"
    for step in trace.steps:
        if step.phase != "backward":
            continue
        node = trace.graph[step.node]
        for parent, sent in zip(node.inputs, trace.contributions.get(node.name, ()), strict=False):
            if not np.all(np.isfinite(sent)):
                return f"the gradient {node.name} sends to {parent.name} is {_bad(sent)}"
    return None


def _bad(array: Array) -> str:
    flat = np.asarray(array).reshape(-1)
    k = int(np.flatnonzero(~np.isfinite(flat))[0])
    where = f" at {list(np.unravel_index(k, np.shape(array)))}" if np.ndim(array) else ""
    return f"{float(flat[k])}{where}"


def reached(trace: Trace, step: int) -> tuple[set[str], set[str]]:
    """The nodes whose value, and those whose gradient, the class has seen by ``step`` (README: no
    spoilers): what a view may show changing after a nudge at that step. Leaves' values are known
    from the start; a gradient once its first contribution has arrived."""
    values = {n.name for n in trace.graph.nodes if trace.value_at(n.name, step) is not None}
    grads = {n.name for n in trace.graph.nodes if trace.grad_at(n.name, step) is not None}
    return values, grads


def changed_nodes(before: Trace, after: Trace) -> list[str]:
    """Nodes whose value or gradient differs between two runs of the same graph, in graph order."""
    out = []
    for node in after.graph.nodes:
        name = node.name
        if name not in before.values:
            continue
        same_value = np.array_equal(before.values[name], after.values[name], equal_nan=True)
        same_grad = np.array_equal(before.grads[name], after.grads[name], equal_nan=True)
        if not (same_value and same_grad):
            out.append(name)
    return out


# ---------------------------------------------------------------- the nudge
@dataclass(frozen=True)
class Nudge:
    """``x0 += h``: the loss before and after, and ΔL/h beside the analytic dL/dx0."""

    name: str
    index: Index
    h: float
    loss_before: float
    loss_after: float
    analytic: float
    changed: tuple[str, ...]
    """Nodes whose value or gradient moved."""
    moved: float
    """How far the element really moved: h rounded to the dtype (float32 rounds 0.001)."""

    @property
    def ratio(self) -> float:
        return (self.loss_after - self.loss_before) / self.moved

    @property
    def agrees(self) -> bool:
        a, r = self.analytic, self.ratio
        if not (np.isfinite(a) and np.isfinite(r)):
            return False
        return abs(a - r) <= NUDGE_AGREES * max(abs(a), abs(r)) + 1e-12

    def lesson(self, loss_name: str = "L") -> str:
        """``x0 += 0.001 → L: 0.731059 → 0.731452, ΔL/h = 0.3930 ≈ ∂L/∂x0 = 0.3932 ✓``"""
        label = element_label(self.name, self.index)
        before, after = distinct(self.loss_before, self.loss_after)
        sign = "+=" if self.h >= 0 else "-="
        mark, rel = ("≈", "✓") if self.agrees else ("≠", "✗")
        return (
            f"{label} {sign} {abs(self.h):g} → {loss_name}: {before} → {after}, "
            f"Δ{loss_name}/h = {_sig(self.ratio)} {mark} ∂{loss_name}/∂{label} = {_sig(self.analytic)} {rel}"
        )


def _sig(x: float, digits: int = 4) -> str:
    """Four significant digits, trailing zeros kept (0.3930): the digits the lesson compares."""
    if not np.isfinite(x):
        return str(x)
    if x != 0 and (abs(x) >= 1e5 or abs(x) < 1e-3):
        return f"{x:.{digits - 1}e}"
    return f"{x:#.{digits}g}".rstrip(".")


def distinct(a: float, b: float) -> tuple[str, str]:
    """Two numbers with just enough digits (6 to 15) that a change between them shows, both
    written alike (``0.881112 → 0.879000``)."""
    fixed = all(x == 0 or 1e-3 <= abs(x) < 1e5 for x in (a, b))
    kind = "f" if fixed else "e"
    for digits in range(6, 16):
        left, right = f"{a:.{digits}{kind}}", f"{b:.{digits}{kind}}"
        if left != right:
            return left, right
    return f"{a:.6{kind}}", f"{b:.6{kind}}"


def nudge(
    trace: Trace,
    edits: Edits,
    name: str,
    index: Index | None = None,
    h: float = NUDGE_H,
    *,
    focus: FocusLike = None,
) -> tuple[Nudge, Trace]:
    """Move one element of a leaf by +h (recorded in ``edits``, so undo takes it back); re-run.

    The element is ``index``, else the one ``focus`` follows in ``name`` (``teach.element``).
    Returns the lesson and the new trace. Raises ``EditError`` for a non-leaf, a bad index or a
    non-finite h, and ``ScenarioError`` when the graph cannot run with the new value.
    """
    leaf(trace.graph, name)
    if index is None:
        index = as_focus(focus).index(trace, name)
    if not np.isfinite(h) or h == 0:
        raise EditError("h must be a finite number other than 0")
    old = current_value(trace, name)
    check_element(name, index, old.shape)
    new = old.copy()
    new[index] += h
    trial = edits.copy()
    trial.set(name, new)
    after = rerun(trace.graph, trace.output, trial)
    edits.set(name, new)
    result = Nudge(
        name,
        tuple(index),
        h,
        trace.loss,
        after.loss,
        float(np.asarray(trace.grads[name], dtype=np.float64)[index]),
        tuple(changed_nodes(trace, after)),
        float(after.values[name][index]) - float(trace.values[name][index]),
    )
    return result, after


def leaves(graph: Graph) -> Iterable[Node]:
    return (n for n in graph.nodes if n.is_leaf)
