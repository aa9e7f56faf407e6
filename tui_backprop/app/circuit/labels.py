"""What the circuit view writes at a step: each wire's labels, the callouts, the gates' marks.

Pure functions from a ``Session`` to plain strings and style names (no Textual), so the rules are
tested without a terminal: a value appears once its forward step is reached, a gradient once a
contribution arrives (``·`` before, never 0), a check mark only once the node's step is reached
(README: no spoilers), and the wires a step moves numbers along show the chain-rule product.
Tensors are written as numbers (``look/pictures.py``): a wrong gradient's wrong elements are
marked ``!`` in its picture. A ``Plan`` holds what is sized once per graph and digits setting
(every callout's text, every label's largest picture); ``state`` is what one step shows.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from tui_backprop.app import engine as door
from tui_backprop.app.circuit.callouts import Callout
from tui_backprop.app.circuit.layering import NodeSpec
from tui_backprop.app.inspector import derivation as dv
from tui_backprop.app.look import digits as display
from tui_backprop.app.look import pictures as pic
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.badge import mark

if TYPE_CHECKING:
    from tui_backprop.app.engine import Block, ElementPath, Focus, Node
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
FORWARD_CALLOUT = 48
"""A forward step's numbers are written beside its wire when they take at most this many cells."""

VALUE = st.WIRE_VALUE
GRAD = st.WIRE_GRAD
PENDING = st.FAINT
CALLOUT = st.CALLOUT
SUM = st.BACKWARD
WRONG = st.BLAME
"""A wrong element of a gradient: white on red, and marked ``!`` for projectors that wash colours out."""
MARKED = ("mismatch", "blame", "kink", "nonfinite", "ok", "covered")
"""Statuses a gate or leaf is marked with, as the node list writes them (README)."""
FOLLOWED = "underline"
"""Added to the style of the element followed in a tensor (the inspector underlines it too)."""
PATH = st.PATH
"""Added to the style of the elements of a neighbour that the followed element touches (its path)."""
PARTIAL = "…"
"""After a gradient that is still a partial sum (a fan-out waiting for more contributions)."""


def with_style(*names: str) -> str:
    """Styles drawn together, ``bp.wire-grad+underline``: the views resolve each name and add them."""
    return "+".join(names)


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


def number(x: float) -> str:
    return door.number(float(x), display.digits())


def factor(x: float) -> str:
    """A number inside a product: a negative one in parentheses."""
    text = number(x)
    return f"({text})" if text.startswith("-") else text


def short_tensor(a: np.ndarray) -> str | None:
    """A tensor on one line when it is a number or a short vector (None: it takes a picture)."""
    a = np.asarray(a)
    if pic.form(a.shape) in ("number", "inline"):
        return pic.picture(a, display.digits()).rows[0]
    return None


# ---------------------------------------------------------------- once per graph
@dataclass
class Plan:
    """What the circuit of one trace writes, sized once per digits setting."""

    specs: list[NodeSpec]
    callouts: dict[tuple[str, str], str]
    """(wire, group) → its text (see ``callouts.Callout.group``)."""
    sums: dict[tuple[str, int], str]
    """(wire, contributions arrived) → the fan-out sum so far."""
    partials: dict[tuple[str, int], np.ndarray]
    """(wire, contributions arrived) → its gradient so far, while it is a partial sum."""
    digits: int
    flat: bool = False
    """Small matrices on one line (a short terminal): every label one row high."""
    pictures: dict[tuple, Block] = field(default_factory=dict)
    """Pictures already drawn, by (array identity, marks, element): the same arrays come back every step."""
    arrays: list[np.ndarray] = field(default_factory=list)
    """The arrays pictured, kept so their identities stay theirs while the plan lives."""

    def picture(
        self, array: np.ndarray, marks: np.ndarray | None = None, index: tuple | None = None
    ) -> Block:
        flagged = None if marks is None or not marks.any() else marks
        summary = pic.form(np.shape(array)) == "summary"
        key = (id(array), None if flagged is None else flagged.tobytes(), index if summary else None)
        hit = self.pictures.get(key)
        if hit is None:
            if len(self.pictures) > 4096:
                self.pictures.clear()
                self.arrays.clear()
            hit = self.pictures[key] = pic.picture(array, self.digits, flagged, index, False, self.flat)
            self.arrays.append(array)
        return hit


def plan(session: Session, flat: bool = False) -> Plan:
    """The specs, callouts and sums of the nodes that lead to the output, at the digits setting;
    ``flat``: every label on one row (small matrices inline)."""
    trace = session.trace
    digits = display.digits()
    relevant = trace.graph.ancestors(trace.output)
    callouts: dict[tuple[str, str], str] = {}
    for node in trace.graph.nodes:
        if node.name not in relevant or node.op is None:
            continue
        forward = forward_callout(session, node)
        if forward:
            callouts[(node.name, "forward")] = forward
        for position, text in backward_callouts(session, node).items():
            key = (node.inputs[position].name, f"back:{node.name}")
            callouts[key] = f"{callouts[key]};  {text}" if key in callouts else text
    sums: dict[tuple[str, int], str] = {}
    partials: dict[tuple[str, int], np.ndarray] = {}
    for name in relevant:
        expected = session.expected(name)
        if expected > 1 and name != trace.output.name:
            for count, text in fan_out_sums(session, name).items():
                sums[(name, count)] = text
            for count, step, _ in arrivals(session, name):
                if count < expected:
                    partials[(name, count)] = trace.grad_at(name, step)
    specs = []
    for node in trace.graph.nodes:
        if node.name not in relevant:
            continue
        shape = trace.values[node.name].shape
        mine = [a for (wire, _), a in partials.items() if wire == node.name]
        width, above, below = _label_size(session, node.name, mine, digits, flat)
        wanted = [Callout(group, len(text)) for (wire, group), text in callouts.items() if wire == node.name]
        sum_width = max((len(t) for (wire, _), t in sums.items() if wire == node.name), default=0)
        if sum_width:
            wanted.append(Callout("sum", sum_width))
        specs.append(
            NodeSpec(
                node.name,
                tuple(p.name for p in node.inputs),
                node.op is not None,
                gate_symbol(node),
                door.shape_text(shape) if len(shape) else "",
                width,
                above,
                below,
                tuple(wanted),
            )
        )
    return Plan(specs, callouts, sums, partials, digits, flat)


def _label_size(
    session: Session, name: str, partials: list[np.ndarray], digits: int, flat: bool
) -> tuple[int, int, int]:
    """The widest label a wire will carry (its value, its gradient with every element marked, a
    partial sum with its ``…``), and the rows of its value's and its gradient's pictures."""
    trace = session.trace
    value = trace.values[name]
    grads = [trace.grads[name], *partials]
    if pic.form(value.shape) == "summary":
        return pic.widest([value, *grads], digits, with_shape=False) + len(PARTIAL), 1, 1
    every = np.ones(value.shape, bool)
    pictures = [
        pic.picture(a, digits, marks, flat=flat) for a, marks in [(value, None)] + [(g, every) for g in grads]
    ]
    width = max(p.width for p in pictures) + (len(PARTIAL) if partials else 0)
    return width, pictures[0].height, max(p.height for p in pictures[1:])


def arrivals(session: Session, name: str) -> list[tuple[int, int, list[tuple[str, int, np.ndarray]]]]:
    """(contributions arrived, the step, which) after each backward step that sends ``name`` some,
    in order; the contributions listed in the order of ``name``'s consumers."""
    trace = session.trace
    received = trace.received_at(name, session.backward_end)
    steps = sorted({trace.backward_index[c] for c, _, _ in received})
    result = []
    for step in steps:
        arrived = [r for r in received if trace.backward_index[r[0]] <= step]
        result.append((len(arrived), step, arrived))
    return result


def fan_out_sums(session: Session, name: str) -> dict[int, str]:
    """``Σ 0.39 + …`` then ``Σ 0.39 + 0.11 = 0.5``: the sum as each contribution arrives, by how many
    have (a tensor too big for a line is named by where it comes from)."""
    texts = {}
    expected = session.expected(name)
    for count, _, arrived in arrivals(session, name):
        parts = []
        for consumer, _, contribution in arrived:
            inline = short_tensor(contribution)
            parts.append(inline if inline is not None else f"from {consumer}")
        text = "Σ " + " + ".join(parts)
        if count < expected:
            texts[count] = text + " + …"
        else:
            total = short_tensor(session.trace.grads[name])
            texts[count] = text + (f" = {total}" if total is not None else "")
    return texts


def forward_callout(session: Session, node: Node) -> str:
    """``2 · 3 = 6``: the forward step with its numbers, when every operand and the result fit a line."""
    trace = session.trace
    if node.op is None:
        return ""
    operands = [short_tensor(trace.values[p.name]) for p in node.inputs]
    result = short_tensor(trace.values[node.name])
    if result is None or any(o is None for o in operands):
        return ""
    text = door.plug(node, [o for o in operands if o is not None])
    text = f"{text.split(' = ', 1)[-1]} = {result}"
    return text if len(text) <= FORWARD_CALLOUT else ""


def backward_callouts(session: Session, node: Node) -> dict[int, str]:
    """Per input: ``-0.2 × (-1) = 0.2``, the chain-rule product that travels back along that wire;
    for tensors the rule in names (``dz1 · xᵀ``), with the result when it fits a line."""
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
            result[position] = f"{number(u)} × {factor(local)} = {number(sent.reshape(-1)[0])}"
            continue
        if link is not None and link.sent_formula is not None:
            rule = link.sent_formula
        elif link is not None and link.local is not None:
            rule = f"d{node.name} ⊙ {link.local}"
        else:
            rule = f"from d{node.name}"
        inline = short_tensor(sent)
        result[position] = f"{rule} = {inline}" if inline is not None else rule
    return result


# ---------------------------------------------------------------- at a step
@dataclass(frozen=True)
class Label:
    """A label's rows, its style, and the elements drawn in another style (a wrong one: ``WRONG``)."""

    rows: tuple[str, ...]
    style: str
    elements: tuple[tuple[int, int, int, str], ...] = ()
    """(row, first column, column past the end, style)."""


DOT = Label(("·",), PENDING)
QUESTION = Label(("?",), CALLOUT)


@dataclass(frozen=True)
class WireLabels:
    """One wire's text at one step: its value above, its gradient below."""

    above: Label
    below: Label


@dataclass
class CircuitState:
    """Everything the circuit shows at one step, keyed by node name."""

    labels: dict[str, WireLabels] = field(default_factory=dict)
    callouts: dict[tuple[str, str], tuple[str, str]] = field(default_factory=dict)
    """(wire, group) → (text, style): the callouts this step shows."""
    marks: dict[str, tuple[str, str]] = field(default_factory=dict)
    """Gate or leaf mark (``✗``, ``~``, ``!``, ``✓``) and its style."""
    blamed: set[str] = field(default_factory=set)
    current: str | None = None
    inspected: str | None = None
    lit: list[tuple[str, int]] = field(default_factory=list)
    """(gate, input position) of the wires the step moves a number along."""
    lit_outputs: list[str] = field(default_factory=list)


def wrong_elements(session: Session, name: str) -> np.ndarray | None:
    """The elements of dL/dname the check finds wrong, once its result may be shown."""
    check = session.checks.get(name)
    if check is None or check.grad is None or not session.check_shown(name):
        return None
    codes = np.asarray(check.grad.codes)
    if codes.shape != session.trace.grads[name].shape:
        return None
    wrong = codes == 1  # MISMATCH (look/numbers.py)
    return wrong if wrong.any() else None


def _label(
    plan: Plan,
    array: np.ndarray,
    style: str,
    marks=None,
    index=None,
    partial: bool = False,
    along: np.ndarray | None = None,
) -> Label:
    """A tensor's picture in ``style``: its ``marks`` (wrong elements) in ``WRONG``, the element
    followed (``index``) underlined, the elements ``along`` the followed element's path (in a
    neighbour) in ``PATH`` (README "The element to follow")."""
    drawn = plan.picture(array, marks, index)
    rows = drawn.rows
    if partial:
        rows = (*rows[:-1], rows[-1] + PARTIAL)
    if along is not None and np.shape(along) != np.shape(array):
        along = None
    elements = []
    for i, (r, a, b) in drawn.cells.items():
        wrong = marks is not None and bool(marks[i])
        extra = [FOLLOWED] if i == index and np.size(array) > 1 else []
        if along is not None and along[i]:
            extra.append(PATH)
        if wrong or extra:
            elements.append((r, a, b, with_style(WRONG if wrong else style, *extra)))
    return Label(rows, style, tuple(elements))


def wire_labels(
    session: Session, plan: Plan, name: str, focus: Focus | None = None, along: np.ndarray | None = None
) -> WireLabels:
    """The labels of the wire leaving ``name`` at the session's step; ``along``: the elements of
    ``name`` on the path of an element followed in a neighbour (``path_marks``)."""
    trace, step = session.trace, session.step
    index = focus.index(trace, name) if focus is not None and trace.values[name].size > 1 else None
    value = trace.value_at(name, step)
    above = _label(plan, value, VALUE, index=index, along=along) if value is not None else DOT
    received, expected = session.received(name), session.expected(name)
    if received == 0:
        below = DOT
    elif received < expected:
        partial = plan.partials.get((name, received))
        below = (
            _label(plan, partial, PENDING, index=index, partial=True, along=along)
            if partial is not None
            else DOT
        )
    else:
        below = _label(plan, trace.grads[name], GRAD, wrong_elements(session, name), index, along=along)
    return WireLabels(above, below)


def path_marks(session: Session, path: ElementPath | None) -> dict[str, np.ndarray]:
    """Per neighbouring tensor of more than one element, the elements the followed element touches:
    the outputs it feeds, and the inputs its backward rule sends its gradient to (``Elements.path``
    leaves those out until that rule has run)."""
    if path is None:
        return {}
    marks: dict[str, np.ndarray] = {}
    for name, mask in [*path.inputs.items(), *path.consumers.items()]:
        if name in session.trace.values and session.trace.values[name].size > 1 and np.any(mask):
            marks[name] = marks[name] | mask if name in marks else np.asarray(mask, bool)
    return marks


def state(
    session: Session,
    plan: Plan,
    names: list[str],
    focus: Focus | None = None,
    inspected: str | None = None,
    path: ElementPath | None = None,
) -> CircuitState:
    """The circuit at the session's step, for the nodes ``names`` drawn; ``path``: the followed
    element's path, its elements picked out in the neighbours' labels."""
    result = CircuitState(current=session.node_name if session.n_steps else None, inspected=inspected)
    along = path_marks(session, path)
    for name in names:
        result.labels[name] = wire_labels(session, plan, name, focus, along.get(name))
        if session.check_shown(name):
            status = session.status_of(name)
            if status in MARKED:
                result.marks[name] = mark(status)
            if status == "blame":
                result.blamed.add(name)
        received = session.received(name)
        text = plan.sums.get((name, received)) if received else None
        if text is not None:
            result.callouts[(name, "sum")] = (text, SUM)
    current = session.current
    if current is None:
        return result
    node = session.trace.graph[current.node]
    result.lit = [(node.name, position) for position in range(len(node.inputs))]
    if current.phase == "forward":
        result.lit_outputs = [node.name]
        text = plan.callouts.get((node.name, "forward"))
        if text:
            result.callouts[(node.name, "forward")] = (text, CALLOUT)
        return result
    group = f"back:{node.name}"
    for parent in dict.fromkeys(p.name for p in node.inputs):
        text = plan.callouts.get((parent, group))
        if text:
            result.callouts[(parent, group)] = (text, CALLOUT)
    return result


def hide(state: CircuitState, session: Session, name: str, part: str) -> CircuitState:
    """Quiz mode: the number the quiz asks for becomes ``?`` on its wire (``part``: ``value`` above
    the wire, or ``callout``, what the next step sends back along it)."""
    labels = state.labels.get(name)
    if labels is None:
        return state
    if part == "value":
        state.labels[name] = WireLabels(QUESTION, labels.below)
        return state
    following = session.step + 1
    if following < session.n_steps:  # first: the view draws no callout over an earlier one
        key = (name, f"back:{session.trace.steps[following].node}")
        state.callouts = {key: ("?", CALLOUT), **{k: v for k, v in state.callouts.items() if k != key}}
    return state
