"""What the presenter card says about a step: pure functions from a ``Session`` to its parts.

The title, the formula with its numbers, the circuit around the gate (drawn by ``circuit/around.py``),
the node's value and upstream gradient, each local derivative written out and what is sent on, and
the verdict. A number is large digits; a tensor is its numbers (``look/pictures.py``: a row, a small
matrix with tall brackets), never a norm. A matrix op's rule is laid out as matrices with the
numbers in, a softmax's as its Jacobian and what it sends (``teach.matrix_rules``), wrong elements
marked. ``screen.py`` lays the parts out; nothing here knows about Textual.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text

from tui_backprop.app import engine as door
from tui_backprop.app.inspector import derivation as dv
from tui_backprop.app.inspector.matrices import matrix_lines
from tui_backprop.app.look import digits as display
from tui_backprop.app.look import numbers as tf
from tui_backprop.app.look import pictures as pic
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.badge import badge, bug_words
from tui_backprop.app.train.words import loss_change, update_lines

if TYPE_CHECKING:
    from tui_backprop.app.engine import ElementPath, Focus, Question, Training
    from tui_backprop.app.model.session import Session

MAX_SENT = 3
"""Inputs whose contribution gets large digits; more are written as text."""


def big(array: np.ndarray | None) -> str:
    """A number for large digits (``?`` unknown; a tensor has none: it is written as numbers)."""
    if array is None:
        return "?"
    a = np.asarray(array)
    if a.size == 1:
        return door.number(float(a.reshape(-1)[0]), display.digits()).replace("∞", "inf")
    return ""


def caption(label: str, array: np.ndarray | None) -> str:
    if array is None or np.asarray(array).size == 1:
        return label
    return f"{label}   {tf.shape_str(np.shape(array))}"


def number(label: str, array: np.ndarray | None, gradient: bool, wrong: np.ndarray | None = None) -> Number:
    """A number in large digits, or a tensor as its numbers (``rows``, the ``wrong`` elements
    marked ``!``), under its caption."""
    if array is None or np.asarray(array).size == 1:
        return Number(caption(label, array), big(array), gradient)
    drawn = pic.picture(np.asarray(array), display.digits(), wrong)
    return Number(caption(label, array), "", gradient, drawn.rows)


def sent_wrong(session: Session, name: str, position: int) -> np.ndarray | None:
    """The elements of what ``name`` sends input ``position`` that its local check finds wrong,
    once that may be shown (README: no spoilers)."""
    check = session.checks.get(name)
    if check is None or session.status_of(name) in ("hidden", "pending"):
        return None
    local = check.local.get(position)
    sent = session.trace.contributions.get(name, {})
    if local is None or position >= len(sent) or np.shape(local.codes) != np.shape(sent[position]):
        return None
    return np.asarray(local.codes) == 1  # MISMATCH (look/numbers.py)


def inline(array: np.ndarray | None) -> str:
    """A tensor inside a formula, as the circuit and the inspector write it."""
    return pic.inline(array, display.digits())


@dataclass(frozen=True)
class Number:
    """One large number: its caption, its digits, and whether it is a gradient (drawn in yellow);
    a tensor has no digits but its ``rows`` of numbers."""

    label: str
    digits: str
    gradient: bool
    rows: tuple[str, ...] = ()


@dataclass
class Card:
    """The parts of the card for one step, in reading order."""

    title: Text
    formula: Text
    main: list[Number]
    local: Text
    sent: list[Number] = field(default_factory=list)
    verdict: Text = field(default_factory=Text)
    path: Text = field(default_factory=Text)
    """The path of the element followed in the step's tensor (empty where all is scalars)."""
    circuit: list[Text] = field(default_factory=list)
    """The circuit around the gate (``circuit/around.py``), in the circuit's colours."""


def card(
    session: Session,
    focus: Focus | None = None,
    path: ElementPath | None = None,
    bug: str | None = None,
    question: Question | None = None,
    run: Training | None = None,
    circuit: list[Text] | None = None,
    width: int = 200,
) -> Card:
    """The card for the session's current step; in a tensor, the element ``focus`` follows is the
    one written out, and ``path`` is its path (README "The element to follow"). ``bug``: the bug
    as it may be called (``Model.bug_label``: ``bug 2`` in mystery-bug mode). ``question``: quiz
    mode, the step's result is asked for: the card shows ``?`` where the answer would be. ``run``:
    the training the iteration shown belongs to (the loss's change is written on the loss).
    ``circuit``: the circuit around the gate, drawn (``circuit/around.py``); ``width``: the card's,
    for matrices laid out side by side."""
    current = session.current
    name = session.node_name
    trace = session.trace
    node = trace.graph[name]
    step = session.step
    phase = current.phase if current else "forward"
    title = Text()
    title.append(f"{session.scenario.slug}", style="bold")
    if bug:
        title.append("  ")
        title.append_text(bug_words(bug))
    if session.update is not None:
        title.append(f"   update {session.update + 1} of {len(session.params)}", style=st.CHANGED)
    else:
        title.append(f"   {phase} step {step + 1} of {session.n_steps}", style=st.CHANGED)
    if session.iteration:
        title.append(f"   iteration {session.iteration}", style=st.DIM)

    formula = Text()
    if node.op is not None:
        formula.append(node.formula() or "", style="bold")
        shown = [inline(trace.value_at(p.name, step)) for p in node.inputs]
        value = trace.value_at(name, step)
        formula.append("\n")
        formula.append(door.plug(node, shown))
        formula.append(" = ")
        formula.append(inline(value), style="bold")

    value = trace.value_at(name, step)
    backward = phase == "backward"
    upstream = trace.grad_at(name, step) if backward else None
    main = [number(f"value {name}", value, gradient=False)]
    main.append(number(f"upstream dL/d{name}", upstream, True) if backward else Number("", "", True))

    local = Text()
    sent: list[Number] = []
    if backward and node.op is not None:
        for link in dv.links_for(session, name, focus):
            matrices = matrix_lines(session, name, link.position, width)
            lines = [dv.local_line(link), dv.product_line(link, name), matrices or dv.matrix_line(link)]
            if link.focus is not None and (link.local is None or link.upstream is None):
                lines += dv.element_rule(session, name, link.position, link.focus)
            for line in lines:
                if line is not None:
                    local.append_text(line)
                    local.append("\n")
            if link.position < MAX_SENT:
                wrong = sent_wrong(session, name, link.position)
                sent.append(number(f"sends dL/d{link.parent}", link.sent_array, True, wrong))
    elif session.update is not None:
        local = Text("\n").join(update_lines(session, focus))
    elif node.op is not None:
        local.append("inputs  ", style=st.PROSE)
        local.append("   ".join(f"{p.name} = {inline(trace.values[p.name])}" for p in node.inputs))

    verdict = Text()
    status = session.status_of(name)
    if backward and status not in ("hidden", "pending"):
        verdict.append_text(badge(status, padded=True))
        check = session.checks.get(name)
        if check is not None and node.op is not None:
            for position, parent in enumerate(node.inputs):
                local_check = check.local.get(position)
                if local_check is not None and local_check.numeric.size == 1:
                    verdict.append(f"  numeric dL/d{parent.name} ", style=st.PROSE)
                    verdict.append(big(local_check.numeric), style="bold")
    change = loss_change(run, session.iteration) if run is not None and session.iteration else None
    if change is not None and name == trace.output.name and value is not None:
        local = Text("\n").join([local, change]) if local else change
    local.rstrip()
    shown_path = dv.path_line(path) if path is not None else Text()
    full = Card(title, formula, main, local, sent, verdict, shown_path, circuit or [])
    if question is not None:
        return asking(full, question, backward)
    return full


def asking(full: Card, question: Question, backward: bool) -> Card:
    """The card in quiz mode before its answer is shown: the question, and ``?`` wherever the
    answer would be read (the value and its formula forward; what is sent, its derivation and the
    verdict backward)."""
    prompt = Text()
    prompt.append("? ", style=st.CHANGED)
    prompt.append(question.prompt, style="bold")
    prompt.append("\n")
    prompt.append("the class answers; n shows the answer", style=st.PROSE)
    if backward:
        sent = [Number(n.label, "?", n.gradient) for n in full.sent]
        return Card(full.title, full.formula, full.main, prompt, sent, Text(), full.path)
    formula = full.formula.copy()
    answer = formula.plain.rfind(" = ")
    if answer >= 0:
        formula = formula[: answer + 3]
        formula.append("?", style="bold")
    main = [Number(full.main[0].label, "?", False), *full.main[1:]]
    return Card(full.title, formula, main, prompt, [], Text(), full.path)
