"""What the circuit view writes at a step: each wire's labels, the gates' marks, what stands out.

Pure functions from a ``Session`` to plain strings and style names (no Textual), so the rules are
tested without a terminal: a value appears once its forward step is reached, a gradient once a
contribution arrives (``·`` before, never 0), a check mark only once the node's step is reached
(README: no spoilers), and the wire being computed shows the chain-rule product. The widget in
``view.py`` only places these strings in the slots ``layout.py`` computed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tui_backprop.app import engine as door
from tui_backprop.app.circuit.layout import NodeSpec
from tui_backprop.app.inspector import derivation as dv
from tui_backprop.app.look import digits as display
from tui_backprop.app.look import numbers as tf
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.badge import mark

if TYPE_CHECKING:
    from tui_backprop.app.engine import Node
    from tui_backprop.app.model.session import Session

SYMBOLS = {
    "add": "+",
    "sub": "−",
    "mul": "×",
    "div": "÷",
    "maximum": "max",
    "neg": "−x",
    "exp": "exp",
    "log": "log",
    "reciprocal": "1/x",
    "square": "x²",
    "sigmoid": "σ",
    "tanh": "tanh",
    "relu": "relu",
    "abs": "|x|",
    "add_const": "+c",
    "scale": "×c",
    "power": "xᵖ",
    "matmul": "@",
    "transpose": "ᵀ",
    "sum": "Σ",
    "mean": "mean",
    "pick": "[i]",
    "softmax": "softmax",
    "log_softmax": "logsm",
    "bce": "bce",
    "linear": "W·x+b",
}
"""How a gate is labelled; an op not listed here (a layer, a custom op) shows its own name."""

MAX_SYMBOL = 10

VALUE = st.WIRE_VALUE
GRAD = st.WIRE_GRAD
PENDING = st.FAINT
CALLOUT = st.CALLOUT
SUM = st.BACKWARD
MARKED = ("mismatch", "blame", "kink", "nonfinite", "ok")
"""Statuses a gate or leaf is marked with, as the node list writes them (README)."""


def gate_symbol(node: Node) -> str:
    op = node.op
    if op is None:
        return ""
    symbol = SYMBOLS.get(op.name, op.name)
    if op.name == "scale" or op.name == "add_const":
        formula = node.formula() or ""
        # "c = -1 · b" -> "×-1", "e = 1 + d" -> "+1": the constant is what a student looks for.
        constant = formula.split("=", 1)[-1].strip().split(" ")[0]
        symbol = ("×" if op.name == "scale" else "+") + constant
    return symbol[:MAX_SYMBOL]


def specs(session: Session) -> list[NodeSpec]:
    """The nodes that lead to the output, as the layout wants them."""
    trace = session.trace
    relevant = trace.graph.ancestors(trace.output)
    result = []
    for node in trace.graph.nodes:
        if node.name not in relevant:
            continue
        shape = trace.values[node.name].shape
        result.append(
            NodeSpec(
                node.name,
                tuple(p.name for p in node.inputs),
                node.op is not None,
                gate_symbol(node),
                tf.shape_str(shape) if len(shape) else "",
            )
        )
    return result


_NUMBERS: dict[tuple[int, int], tuple[np.ndarray, str]] = {}
"""Norms of the trace's tensors, worth computing once per digits setting rather than once per step."""


def number(array: np.ndarray) -> str:
    """A wire's number: the scalar, or a tensor's norm."""
    if isinstance(array, np.ndarray) and array.size > 1:
        key = (id(array), display.digits())
        hit = _NUMBERS.get(key)
        if hit is not None and hit[0] is array:
            return hit[1]
        if len(_NUMBERS) > 4096:
            _NUMBERS.clear()
        text = _number(array)
        _NUMBERS[key] = (array, text)  # the array is kept, so its id cannot be reused meanwhile
        return text
    return _number(array)


def _number(array: np.ndarray) -> str:
    a = np.asarray(array)
    if a.size == 1:
        return tf.short(a.reshape(-1)[0])
    with np.errstate(all="ignore"):
        return f"‖{tf.short(float(np.linalg.norm(a.astype(np.float64).reshape(-1))))}‖"


def label_widths(session: Session) -> dict[str, int]:
    """The widest label each wire will ever carry: its value and its final gradient (+1 for ``…``)."""
    trace = session.trace
    return {
        name: max(
            len(number(trace.values[name])),
            len(number(trace.grads[name])) + (1 if session.expected(name) > 1 else 0),
            1,
        )
        for name in session.node_names
    }


@dataclass(frozen=True)
class WireLabels:
    """One wire's text at one step; each part is (text, style)."""

    above: tuple[str, str]
    below: tuple[str, str]
    callout: tuple[str, str] = ("", "")
    total: tuple[str, str] = ("", "")
    """Fan-out: what the consumers sent and their sum."""


def wire_labels(session: Session, name: str) -> WireLabels:
    """The labels of the wire leaving ``name`` at the session's step (the quiz's ``?``: ``hide``)."""
    trace, step = session.trace, session.step
    value = trace.value_at(name, step)
    above = (number(value), VALUE) if value is not None else ("·", PENDING)
    received, expected = session.received(name), session.expected(name)
    if received == 0:
        below = ("·", PENDING)
    elif received < expected:
        partial = trace.grad_at(name, step)
        below = (number(partial) + "…", PENDING) if partial is not None else ("·", PENDING)
    else:
        below = (number(trace.grads[name]), GRAD)
    total = ("", "")
    if expected > 1 and received:
        total = (fan_out_sum(session, name), SUM)
    return WireLabels(above, below, total=total)


def fan_out_sum(session: Session, name: str) -> str:
    """``Σ 0.39 + 0.11 = 0.5``: every contribution that reached ``name`` so far, and their sum."""
    trace = session.trace
    arrived = trace.received_at(name, session.step)
    parts = [_summand(c) for _, _, c in arrived]
    complete = len(arrived) == session.expected(name)
    total = trace.grad_at(name, session.step)
    text = "Σ " + " + ".join(parts)
    if complete and total is not None:
        return text + " = " + _summand(total)
    return text + " + …"


def _summand(a: np.ndarray) -> str:
    a = np.asarray(a)
    if 1 < a.size <= 3:
        return "[" + " ".join(tf.short(v) for v in a.reshape(-1)) + "]"
    return number(a)


@dataclass
class CircuitState:
    """Everything the circuit shows at one step, keyed by node name."""

    labels: dict[str, WireLabels] = field(default_factory=dict)
    marks: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Gate or leaf mark (``✗``, ``~``, ``!``, ``✓``) and its style."""
    blamed: set[str] = field(default_factory=set)
    current: str | None = None
    inspected: str | None = None
    lit: list[tuple[str, int]] = field(default_factory=list)
    """(gate, input position) of the wires the step moves a number along."""
    lit_outputs: list[str] = field(default_factory=list)


def state(session: Session, names: list[str], inspected: str | None = None) -> CircuitState:
    """The circuit at the session's step, for the nodes ``names`` drawn."""
    result = CircuitState(current=session.node_name if session.n_steps else None, inspected=inspected)
    for name in names:
        result.labels[name] = wire_labels(session, name)
        if session.check_shown(name):
            status = session.status_of(name)
            if status in MARKED:
                result.marks[name] = mark(status)
            if status == "blame":
                result.blamed.add(name)
    current = session.current
    if current is None:
        return result
    node = session.trace.graph[current.node]
    result.lit = [(node.name, position) for position in range(len(node.inputs))]
    if current.phase == "forward":
        result.lit_outputs = [node.name]
        labels = result.labels[node.name]
        result.labels[node.name] = WireLabels(
            labels.above, labels.below, (forward_callout(session, node), CALLOUT), labels.total
        )
        return result
    for position, text in backward_callouts(session, node).items():
        parent = node.inputs[position].name
        if parent in result.labels:
            labels = result.labels[parent]
            result.labels[parent] = WireLabels(labels.above, labels.below, (text, CALLOUT), labels.total)
    return result


def forward_callout(session: Session, node: Node) -> str:
    """``2 · 3 = 6``: the forward step with numbers, when every operand is one number."""
    trace = session.trace
    values = [trace.values[p.name] for p in node.inputs]
    if node.op is None or any(v.size != 1 for v in values):
        return ""
    operands = [tf.short(v.reshape(-1)[0]) for v in values]
    text = door.plug(node, operands)
    right = text.split(" = ", 1)[-1]
    return f"{right} = {number(trace.values[node.name])}"


def backward_callouts(session: Session, node: Node) -> dict[int, str]:
    """Per input: ``-0.2 × -1 = 0.2``, the chain-rule product that travels back along that wire."""
    trace = session.trace
    if node.op is None or node.name not in trace.contributions:
        return {}
    upstream = trace.grads[node.name]
    jacobians = trace.jacobians.get(node.name, {})
    links = {link.position: link for link in dv.links_for(session, node.name)}
    result = {}
    for position, _ in enumerate(node.inputs):
        sent = trace.contributions[node.name][position]
        jac = jacobians.get(position)
        link = links.get(position)
        if upstream.size == 1 and sent.size == 1 and jac is not None and jac.size == 1:
            u, local = float(upstream.reshape(-1)[0]), float(jac.reshape(-1)[0])
            result[position] = f"{tf.short(u)} × {dv.factor(local)} = {tf.short(sent.reshape(-1)[0])}"
        elif link is not None and link.sent_formula is not None and "ᵀ" in link.sent_formula:
            result[position] = f"{link.sent_formula} = {number(sent)}"
        elif link is not None and link.local is not None:
            result[position] = f"d{node.name} ⊙ {link.local} = {number(sent)}"
        elif link is not None and link.sent_formula is not None:
            result[position] = f"{link.sent_formula} = {number(sent)}"
        else:
            result[position] = f"sends {number(sent)}"
    return result


def hide(state: CircuitState, name: str, part: str) -> CircuitState:
    """Quiz mode: the number the quiz asks for becomes ``?`` on its wire (``part``: ``value`` above
    the wire, or ``callout``, what is sent back along it)."""
    labels = state.labels.get(name)
    if labels is None:
        return state
    hidden = ("?", CALLOUT)
    if part == "value":
        state.labels[name] = WireLabels(hidden, labels.below, labels.callout, labels.total)
    else:
        state.labels[name] = WireLabels(labels.above, labels.below, hidden, labels.total)
    return state
