"""Quiz mode: the next value or gradient is hidden; the student computes it, the quiz grades it.

A forward step asks for the node's value (for a tensor, the element the views follow:
``teach.element``); a backward step asks what the op sends back to its first input, at that input's
followed element. A wrong answer is compared with the slips students make
most (a flipped sign, a factor 2, forgetting to multiply by the upstream gradient, sending an
input the other input's gradient) so the feedback can say which one it looks like.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tui_backprop.core.trace import Trace
from tui_backprop.teach.element import FocusLike, as_focus, element_label
from tui_backprop.teach.step_words import num, plug, sent_by, short

RTOL = 5e-3
"""An answer within 0.5 % (or ATOL) is right: three significant digits are enough."""
ATOL = 1e-4


def close(answer: float, expected: float) -> bool:
    return abs(answer - expected) <= RTOL * abs(expected) + ATOL


@dataclass(frozen=True)
class Question:
    step: int
    """The step (0-based) whose result is hidden."""
    node: str
    phase: str
    label: str
    """What is asked for: ``a``, ``h[0, 1]`` or ``dL/dx (sent by a)``."""
    prompt: str
    """The question with every known number in it, ending in ``?``."""
    expected: float
    rule: str
    """The local rule with the numbers, shown after grading."""
    slips: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Grade:
    question: Question
    answer: float
    correct: bool
    slip: str | None = None

    def message(self) -> str:
        q = self.question
        if self.correct:
            return f"✓ {q.label} = {num(q.expected)}"
        slip = f"; looks like: {self.slip}" if self.slip else ""
        return f"✗ {num(self.answer)}: expected {q.label} = {num(q.expected)}{slip}. Rule: {q.rule}"


def question_for(trace: Trace, step: int, focus: FocusLike = None) -> Question | None:
    """The question hiding the result of ``step`` (None past the last step), about the element
    ``focus`` follows in the tensor asked for."""
    if not 0 <= step < len(trace.steps):
        return None
    chooser = as_focus(focus)
    s = trace.steps[step]
    node = trace.graph[s.node]
    value = np.asarray(trace.values[node.name], dtype=np.float64)
    if s.phase == "forward":
        index = chooser.index(trace, node.name) if value.size > 1 else ()
        operands = [short(trace.values[p.name]) for p in node.inputs]
        expected = float(value[index]) if index else float(value.reshape(-1)[0])
        label = element_label(node.name, index)
        where = f"{label} where " if index else ""
        rule = f"{plug(node, operands)} = {short(value)}"
        slips = (("sign", -expected), ("factor 2", 2 * expected), ("factor 2", expected / 2))
        return Question(
            step, node.name, "forward", label, f"{where}{plug(node, operands)} = ?", expected, rule, slips
        )
    sent = sent_by(trace, node)
    if not sent:
        return None
    first = sent[0]
    contribution = np.asarray(first.contribution, dtype=np.float64)
    cindex = chooser.index(trace, first.parent) if contribution.size > 1 else ()
    flat = int(np.ravel_multi_index(cindex, contribution.shape)) if cindex else 0
    expected = float(contribution.reshape(-1)[flat])
    target = element_label(first.parent, cindex)
    label = f"dL/d{target} from {node.name}"
    upstream = np.asarray(trace.grads[node.name], dtype=np.float64)
    if upstream.size == 1:
        given = f"dL/d{node.name} = {num(upstream.reshape(-1)[0])}"
    else:
        given = f"dL/d{node.name} = {short(upstream)}"
    prompt = f"{node.formula()};  {given};  {node.name} sends {target}: ?"
    slips: list[tuple[str, float]] = [
        ("sign", -expected),
        ("factor 2", 2 * expected),
        ("factor 2", expected / 2),
    ]
    if first.local is not None:
        local = first.local[:, flat]
        slips.append(("forgot the upstream gradient (sent the local derivative alone)", float(local.sum())))
    if upstream.size == 1 and contribution.size == 1:
        slips.append(
            ("forgot the local derivative (sent the upstream gradient on)", float(upstream.reshape(-1)[0]))
        )
    for other in sent[1:]:
        c = np.asarray(other.contribution, dtype=np.float64)
        if c.shape == contribution.shape:
            slips.append((f"swapped inputs (that is what {other.parent} gets)", float(c.reshape(-1)[flat])))
    return Question(step, node.name, "backward", label, prompt, expected, first.rule(node.name), tuple(slips))


def grade(question: Question, answer: float) -> Grade:
    """Right within tolerance, or wrong with the first slip the answer matches (if any)."""
    if close(answer, question.expected):
        return Grade(question, answer, True)
    for name, value in question.slips:
        if not close(value, question.expected) and close(answer, value):
            return Grade(question, answer, False, name)
    return Grade(question, answer, False)


@dataclass
class Score:
    right: int = 0
    wrong: int = 0
    skipped: int = 0
    graded: dict[int, Grade] = field(default_factory=dict)
    """Grades by step, so a step answered once is not asked again."""

    def record(self, result: Grade) -> None:
        if result.question.step in self.graded:
            return
        self.graded[result.question.step] = result
        if result.correct:
            self.right += 1
        else:
            self.wrong += 1

    def line(self) -> str:
        asked = self.right + self.wrong
        text = f"quiz {self.right}/{asked} right"
        if self.skipped:
            text += f", {self.skipped} skipped"
        return text
