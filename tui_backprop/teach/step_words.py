"""One step of a trace in words and numbers, shared by the quiz and the Markdown handout.

A forward step is its formula with the numbers plugged in (``a = 2 · 3 = 6``); a backward step is,
per input, the upstream gradient, the local derivative and what is sent on
(``dL/dx = dL/da · ∂a/∂x = 0.105 · 3 = 0.315``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from tui_backprop.core.graph import Node
from tui_backprop.core.trace import Step, Trace
from tui_backprop.teach.numbers import DIGITS, factor, inline, number, shape_text

Array = np.ndarray


def num(x: float, digits: int = DIGITS) -> str:
    """A number as the lesson writes it (``teach.numbers``: one style for every view)."""
    return number(x, digits)


def short(a: Array, digits: int = DIGITS) -> str:
    """A scalar as a number, a small tensor inline (``[1 2; 3 4]``), a big one as its shape and norm."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 1:
        return num(a.reshape(-1)[0], digits)
    if a.size <= 6:
        return inline(a, digits)
    return f"{shape_text(a.shape)} tensor, norm {num(float(np.linalg.norm(a)), digits)}"


def compact(a: np.ndarray, digits: int = DIGITS) -> str:
    """A value in one table cell: a scalar, up to 4 numbers inline, else its shape and norm."""
    a = np.asarray(a, dtype=np.float64)
    if a.size == 1:
        return num(a.reshape(-1)[0], digits)
    if a.size <= 4:
        return inline(a, digits)
    return f"{'x'.join(map(str, a.shape))} |{num(float(np.linalg.norm(a)), digits)}|"


def plug(node: Node, operands: list[str]) -> str:
    """The node's formula with the operands written in for the input names (see ``plug_formula``)."""
    assert node.op is not None
    return plug_formula(node.op.render_formula, node.name, operands)


def plug_formula(render: Callable[[str, list[str]], str], out: str, operands: list[str]) -> str:
    """A formula rendered by ``render(out, names)`` with numbers for the names; a negative number
    gets parentheses unless the formula already encloses it (``exp(-2)``, but ``2 · (-4)``,
    ``-(-1.4)`` and ``(-2)²``)."""
    marks = [f"\x00{k}\x00" for k in range(len(operands))]
    text = render(out, marks)
    for k, operand in enumerate(operands):
        mark = marks[k]
        at = text.find(mark)
        while at >= 0:
            before = text[at - 1] if at > 0 else ""
            after = text[at + len(mark)] if at + len(mark) < len(text) else ""
            enclosed = before in "([|," and after in ")]|,"
            value = f"({operand})" if operand.startswith("-") and not enclosed else operand
            text = text[:at] + value + text[at + len(mark) :]
            at = text.find(mark)
    return text


def with_numbers(trace: Trace, node: Node) -> str:
    """``a = 2 · 3 = 6``: the formula with its inputs' values and the result (tensors summarised)."""
    operands = [short(trace.values[p.name]) for p in node.inputs]
    return f"{plug(node, operands)} = {short(trace.values[node.name])}"


@dataclass(frozen=True)
class Sent:
    """What a backward step sends one input: upstream · local = contribution."""

    parent: str
    position: int
    upstream: Array
    local: Array | None
    """The local Jacobian d out / d input (rows: outputs, columns: inputs), when small enough."""
    contribution: Array

    def rule(self, out: str) -> str:
        """``dL/dx = dL/da · ∂a/∂x = 0.105 · 3 = 0.315`` for scalars; in words for tensors."""
        head = f"dL/d{self.parent} += dL/d{out} · ∂{out}/∂{self.parent}"
        if self.upstream.size == 1 and self.contribution.size == 1 and self.local is not None:
            local = factor(self.local.reshape(-1)[0])
            upstream, sent = num(self.upstream.reshape(-1)[0]), num(self.contribution.reshape(-1)[0])
            return f"{head} = {upstream} · {local} = {sent}"
        return f"{head} (a vector-Jacobian product) = {short(self.contribution)}"


def sent_by(trace: Trace, node: Node) -> list[Sent]:
    """Per input of an op node: the upstream gradient, the local derivative and the contribution."""
    upstream = trace.grads[node.name]
    jacobians = trace.jacobians.get(node.name, {})
    sent = trace.contributions.get(node.name, ())
    return [
        Sent(parent.name, k, upstream, jacobians.get(k), contribution)
        for k, (parent, contribution) in enumerate(zip(node.inputs, sent, strict=True))
    ]


def step_title(trace: Trace, step: Step) -> str:
    node = trace.graph[step.node]
    return f"Step {step.index + 1} · {step.phase} · {node.formula()}"
