"""Running a graph: the forward pass, the backward pass, and the step list that replays them.

The trace keeps every node's value, every node's total gradient dL/dnode, and every contribution
an op sends back to each of its inputs, so fan-out sums are visible. The state at any step is a
prefix of the trace: stepping back is exact and costs nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from tui_backprop.core.errors import ScenarioError, describe_exception, origin_of_exception
from tui_backprop.core.graph import Graph, Node, Origin
from tui_backprop.core.sandbox import is_user_fault

Array = np.ndarray
Phase = Literal["forward", "backward"]

JACOBIAN_MAX_ENTRIES = 400
"""Local Jacobians are kept for ops whose output size times input size is at most this."""


@dataclass(frozen=True)
class Step:
    index: int
    phase: Phase
    node: str


@dataclass(frozen=True)
class BackwardFailure:
    """A backward rule that raised or returned something unusable: reported on its node."""

    node: str
    message: str
    origin: Origin | None

    def __str__(self) -> str:
        where = f" ({self.origin})" if self.origin else ""
        return f"{self.message}{where}"


@dataclass
class Trace:
    graph: Graph
    output: Node
    values: dict[str, Array]
    grads: dict[str, Array]
    contributions: dict[str, tuple[Array, ...]]
    steps: tuple[Step, ...]
    failures: dict[str, BackwardFailure] = field(default_factory=dict)
    jacobians: dict[str, dict[int, Array]] = field(default_factory=dict)
    """Analytic local Jacobians of small ops, built from their own backward rule:
    ``jacobians[node][position][o, k]`` = d out[o] / d input[k]."""
    narrowed: dict[str, str] = field(default_factory=dict)
    """Op nodes whose forward returned a narrower float than the graph's (float32 in a float64
    graph), by node name: their dtype. Such a run carries float32's round-off (``check.wide``)."""

    def __post_init__(self) -> None:
        self.forward_index = {s.node: s.index for s in self.steps if s.phase == "forward"}
        self.backward_index = {s.node: s.index for s in self.steps if s.phase == "backward"}
        self.n_forward = len(self.forward_index)
        self.consumers = self.graph.consumers()

    @property
    def loss(self) -> float:
        return float(self.values[self.output.name].reshape(-1)[0])

    def node(self, name: str) -> Node:
        return self.graph[name]

    def value_at(self, name: str, step: int) -> Array | None:
        """The node's value as known after ``step`` (None before its forward step)."""
        forward = self.forward_index.get(name)
        if forward is not None and step < forward:
            return None
        return self.values[name]

    def received_at(self, name: str, step: int) -> list[tuple[str, int, Array]]:
        """Contributions (consumer, input position, array) that have reached ``name`` by ``step``."""
        received = []
        for consumer, position in self.consumers[name]:
            when = self.backward_index.get(consumer.name)
            if when is not None and when <= step:
                received.append((consumer.name, position, self.contributions[consumer.name][position]))
        return received

    def grad_at(self, name: str, step: int) -> Array | None:
        """dL/dnode as accumulated after ``step``: None until the first contribution arrives."""
        if step < self.n_forward:
            return None
        if name == self.output.name:
            return self.grads[name]
        received = self.received_at(name, step)
        if not received:
            return None
        total = np.zeros_like(self.values[name])
        for _, _, contribution in received:
            total = total + contribution
        return total

    def expected_count(self, name: str) -> int:
        """How many contributions make the node's gradient final (the output: its seed dL/dL)."""
        if name == self.output.name:
            return 1
        return sum(1 for c, _ in self.consumers[name] if c.name in self.backward_index)

    def received_count(self, name: str, step: int) -> int:
        """How many of those have reached the node by ``step``: final when equal to the expected."""
        if step < self.n_forward:
            return 0
        if name == self.output.name:
            return 1
        index = self.backward_index
        return sum(1 for c, _ in self.consumers[name] if c.name in index and index[c.name] <= step)


def _as_array(value: Any, dtype: np.dtype, what: str) -> Array:
    """A result of the author's code as a real array of the graph's dtype, or a TypeError saying why not
    (complex numbers would lose their imaginary part; objects, strings and None are no numbers)."""
    if value is None:
        raise TypeError(f"{what} is None (a missing return?)")
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as exc:  # ragged nested lists
        raise TypeError(f"{what} is not an array of numbers ({describe_exception(exc)})") from None
    if array.dtype.kind == "c":
        raise TypeError(f"{what} is complex ({array.dtype}); only real numbers can be checked")
    if array.dtype.kind not in "fiub":
        raise TypeError(f"{what} has dtype {array.dtype}, expected real numbers")
    return array.astype(dtype, copy=False)


def _forward(node: Node, inputs: list[Array], dtype: np.dtype, narrowed: dict[str, str]) -> Array:
    """The op's forward on ``inputs`` as the graph's dtype; a narrower float result is noted in
    ``narrowed``."""
    assert node.op is not None
    try:
        with np.errstate(all="ignore"):
            raw = node.op.forward(*(x.copy() for x in inputs))
            out = _as_array(raw, dtype, "the forward result")
        kind = getattr(raw, "dtype", None)
        if isinstance(kind, np.dtype) and kind.kind == "f" and kind.itemsize < dtype.itemsize:
            narrowed[node.name] = str(kind)
        if out.size == 0:
            raise ValueError(f"the forward result has no elements (shape {list(out.shape)})")
        return out
    except BaseException as exc:  # the author's forward rule: anything can happen, sys.exit() too
        if not is_user_fault(exc):
            raise
        shapes = ", ".join(f"{p.name}{list(x.shape)}" for p, x in zip(node.inputs, inputs, strict=True))
        raise ScenarioError(
            f"forward of node {node.name!r} ({node.op.name}) on {shapes} failed: {describe_exception(exc)}",
            origin_of_exception(exc) or node.origin,
            node.name,
        ) from exc


def backward_origin(node: Node) -> Origin | None:
    """Where the node's backward rule is written (an adapter points at the author's function)."""
    backward = node.op.backward if node.op else None
    code = getattr(backward, "__wrapped_code__", None) or getattr(backward, "__code__", None)
    if code is None:
        return node.origin
    return Origin(code.co_filename, code.co_firstlineno)


def call_backward(node: Node, upstream: Array, out: Array, inputs: list[Array]) -> tuple[Array, ...]:
    """Call the node's backward rule and insist on one real gradient per input, shaped like it.

    Raises ``BackwardRuleError`` with a message a student can act on.
    """
    assert node.op is not None
    try:
        with np.errstate(all="ignore"):
            result = node.op.backward(upstream.copy(), out.copy(), *(x.copy() for x in inputs))
    except BaseException as exc:  # sys.exit() in a backward is that backward's failure too
        if not is_user_fault(exc):
            raise
        raise BackwardRuleError(describe_exception(exc), origin_of_exception(exc)) from exc
    try:
        return _gradients(node, inputs, result)
    except BackwardRuleError:
        raise
    except BaseException as exc:  # an odd object in the result: its own __iter__ or __array__ failed
        if not is_user_fault(exc):
            raise
        raise BackwardRuleError(
            f"backward returned {type(result).__name__}, not one gradient per input "
            f"({describe_exception(exc)})",
            origin_of_exception(exc),
        ) from exc


def _gradients(node: Node, inputs: list[Array], result: Any) -> tuple[Array, ...]:
    if result is None:
        raise BackwardRuleError("backward returned None", None)
    if isinstance(result, np.ndarray) or np.isscalar(result):
        result = (result,)
    result = tuple(result)
    if len(result) != len(inputs):
        raise BackwardRuleError(
            f"backward returned {len(result)} gradient(s) for {len(inputs)} input(s)", None
        )
    grads = []
    for parent, x, g in zip(node.inputs, inputs, result, strict=True):
        if g is None:
            raise BackwardRuleError(f"backward returned None for input {parent.name!r}", None)
        try:
            g = _as_array(g, x.dtype, f"the gradient for {parent.name!r}")
        except TypeError as exc:
            raise BackwardRuleError(str(exc), None) from None
        if g.shape != x.shape:
            raise BackwardRuleError(
                f"backward returned shape {list(g.shape)} for input {parent.name!r} of shape {list(x.shape)}",
                None,
            )
        grads.append(g)
    return tuple(grads)


class BackwardRuleError(Exception):
    def __init__(self, message: str, origin: Origin | None) -> None:
        super().__init__(message)
        self.message = message
        self.origin = origin


def run(graph: Graph, output: Node, leaf_values: Mapping[str, Array] | None = None) -> Trace:
    """Forward every node, then push dL/dL = 1 back from the output through every op.

    ``leaf_values`` replaces the values of some leaves for this run only (the app's edits and
    nudges); the graph itself is never changed. Raises ``ScenarioError`` when the graph cannot
    run at all (a forward rule fails, the output is not a scalar). A backward rule that fails is
    recorded on its node and the pass goes on.
    """
    if output.graph is not graph:
        raise ScenarioError(f"the output node {output.name!r} belongs to another graph")
    values: dict[str, Array] = {}
    narrowed: dict[str, str] = {}
    for node in graph.nodes:
        if node.op is None:
            assert node.value is not None
            given = leaf_values.get(node.name) if leaf_values else None
            with np.errstate(all="ignore"):  # 1e39 in float32 is inf: reported as non-finite, not warned
                values[node.name] = (node.value if given is None else np.asarray(given)).astype(graph.dtype)
        else:
            values[node.name] = _forward(node, [values[p.name] for p in node.inputs], graph.dtype, narrowed)
    out_value = values[output.name]
    if out_value.size != 1:
        raise ScenarioError(
            f"the output {output.name!r} has shape {list(out_value.shape)}; "
            "the output must be a scalar loss (reduce it with sum or mean)",
            output.origin,
            output.name,
        )

    relevant = graph.ancestors(output)
    ops_in_order = [n for n in graph.nodes if n.op is not None and n.name in relevant]
    steps = [Step(i, "forward", n.name) for i, n in enumerate(ops_in_order)]
    steps += [Step(len(ops_in_order) + i, "backward", n.name) for i, n in enumerate(reversed(ops_in_order))]

    grads = {n.name: np.zeros_like(values[n.name]) for n in graph.nodes}
    grads[output.name] = np.ones_like(out_value)
    contributions: dict[str, tuple[Array, ...]] = {}
    failures: dict[str, BackwardFailure] = {}
    jacobians: dict[str, dict[int, Array]] = {}
    for node in reversed(ops_in_order):
        inputs = [values[p.name] for p in node.inputs]
        try:
            sent = call_backward(node, grads[node.name], values[node.name], inputs)
        except BackwardRuleError as exc:
            failures[node.name] = BackwardFailure(node.name, exc.message, exc.origin or backward_origin(node))
            sent = tuple(np.zeros_like(x) for x in inputs)
        contributions[node.name] = sent
        for parent, contribution in zip(node.inputs, sent, strict=True):
            grads[parent.name] = grads[parent.name] + contribution
        if node.name not in failures:
            jacobian = local_jacobians(node, values[node.name], inputs)
            if jacobian:
                jacobians[node.name] = jacobian
    return Trace(graph, output, values, grads, contributions, tuple(steps), failures, jacobians, narrowed)


def local_jacobians(node: Node, out: Array, inputs: list[Array]) -> dict[int, Array]:
    """d out / d input for a small op, one backward call per output element (its own rule)."""
    result: dict[int, Array] = {}
    sizes = [x.size for x in inputs]
    if not inputs or out.size == 0 or min(sizes) == 0 or out.size * max(sizes) > JACOBIAN_MAX_ENTRIES:
        return result
    rows: list[tuple[Array, ...]] = []
    for o in range(out.size):
        seed = np.zeros(out.size, dtype=out.dtype)
        seed[o] = 1
        try:
            rows.append(call_backward(node, seed.reshape(out.shape), out, inputs))
        except BackwardRuleError:
            return {}
    for position, x in enumerate(inputs):
        result[position] = np.stack([r[position].reshape(-1) for r in rows]).reshape(out.size, x.size)
    return result
