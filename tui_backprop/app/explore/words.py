"""What the explore screens say: the leaves one may edit, a nudge's changed values, the quiz line.

Pure functions from engine results to Rich ``Text``; the screens and the quiz bar only show them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text

from tui_backprop.app import engine as door
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.styles import styled

if TYPE_CHECKING:
    from tui_backprop.app.engine import Grade, Nudge, Question, Score, Trace
    from tui_backprop.app.explore.editing import Nudged

DIM = st.DIM
CHANGED = st.CHANGED
OK = st.OK
WRONG = st.MISMATCH


def leaves_hint(trace: Trace) -> Text:
    """``leaves: x = 2  w0 = 3  W1 2×2`` (what may be edited)."""
    text = styled("leaves: ", DIM)
    for node in trace.graph.nodes:
        if node.is_leaf:
            value = trace.values[node.name]
            shown = (
                f" = {door.num(value.reshape(-1)[0])}"
                if value.size == 1
                else f" {'×'.join(map(str, value.shape))}"
            )
            text.append(node.name, style="bold")
            text.append(shown + "   ")
    return text


def prefill(trace: Trace, name: str, index: tuple[int, ...] | None = None) -> str:
    """The edit line to start from: the leaf's current value (for a tensor, element ``index``: the
    one followed; its first by default)."""
    value = np.asarray(trace.values[name], dtype=np.float64)
    if value.size == 1 and value.ndim == 0:
        return f"{name} = {float(value)!r}"
    index = index if index is not None else tuple(0 for _ in value.shape)
    return f"{door.element_label(name, index)} = {float(value[index])!r}"


def nudge_words(answer: Nudged | str, step: int | None = None) -> tuple[Text, Text] | str:
    """What the nudge screen shows of a nudge: the lecture's line and every changed value (or why
    not). At ``step``, only what the class has seen by then (README: no spoilers): values reached,
    gradients arrived; None shows everything."""
    if isinstance(answer, str):
        return answer
    seen = door.reached(answer.after, step) if step is not None else None
    grad_seen = seen is None or answer.result.name in seen[1]
    lesson = nudge_lesson(answer.result, answer.before.output.name, grad_seen)
    return lesson, nudge_table(answer.result, answer.before, answer.after, seen)


def nudge_lesson(result: Nudge, loss_name: str, grad_seen: bool = True) -> Text:
    """``x += 0.001 → f: 0.880797 → 0.881112, Δf/h = 0.3146 ≈ ∂f/∂x = 0.3150 ✓``; before the
    gradient has arrived, ΔL/h alone (the gradient is the answer the backward pass will give)."""
    text = Text()
    if not grad_seen:
        label = door.element_label(result.name, result.index)
        before, after = door.distinct(result.loss_before, result.loss_after)
        sign = "+=" if result.h >= 0 else "-="
        text.append(
            f"{label} {sign} {abs(result.h):g} → {loss_name}: {before} → {after}, "
            f"Δ{loss_name}/h = {door.num(result.ratio, 4)}",
            style="bold",
        )
        text.append(
            f"\n∂{loss_name}/∂{label} is not reached yet: the backward pass will say whether it agrees.",
            style=DIM,
        )
        return text
    text.append(result.lesson(loss_name), style=OK if result.agrees else WRONG)
    if not result.agrees:
        text.append(
            "\nΔL/h and the gradient disagree: a kink crossed, an h too large for this curvature, "
            "or a wrong backward rule.",
            style=DIM,
        )
    return text


def nudge_table(
    result: Nudge, before: Trace, after: Trace, seen: tuple[set[str], set[str]] | None = None
) -> Text:
    """Every node's value and gradient before → after; the changed ones marked ●. ``seen``: the
    values and the gradients the class has seen at this step (``teach.edits.reached``); the others
    read ``·`` (not reached yet) and are not counted as changed."""
    text = Text()
    names = [n.name for n in after.graph.nodes]
    width = max(4, *(len(n) for n in names))
    text.append(f"  {'node':<{width}}  {'value before → after':<34}  dL/dnode before → after\n", style=DIM)
    for name in names:
        shown = (
            seen is None or name in seen[0],
            seen is None or name in seen[1],
        )
        pairs = ((before.values[name], after.values[name]), (before.grads[name], after.grads[name]))
        moves = [not np.array_equal(a, b, equal_nan=True) for a, b in pairs]
        changed = name in result.changed and any(m and s for m, s in zip(moves, shown, strict=True))
        text.append("● " if changed else "  ", style=CHANGED)
        text.append(f"{name:<{width}}  ", style="bold" if changed else DIM)
        for k, ((a, b), moved, visible) in enumerate(zip(pairs, moves, shown, strict=True)):
            cell = _pair(a, b) if visible else "·"
            style = CHANGED if moved and visible else DIM
            text.append(cell.ljust(34) if k == 0 else cell, style=style)
            if k == 0:
                text.append("  ")
        text.append("\n")
    return text


def _pair(a: np.ndarray, b: np.ndarray) -> str:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.size == 1:
        x, y = float(a.reshape(-1)[0]), float(b.reshape(-1)[0])
        if x == y:
            return door.num(x, 6)
        left, right = door.distinct(x, y)
        return f"{left} → {right}"
    if np.array_equal(a, b):
        return f"{'×'.join(map(str, a.shape))} unchanged"
    moved = int(np.count_nonzero(a != b))
    return f"{'×'.join(map(str, a.shape))}: {moved} of {a.size} elements moved"


def quiz_text(question: Question | None, last: Grade | None, score: Score, message: str = "") -> Text:
    """The quiz bar: the last grade (✓, or ✗ with the expected value, the slip and the rule), the
    score, and the next question with its ``?``."""
    text = Text()
    if last is not None:
        text.append(last.message() + "\n", style=OK if last.correct else WRONG)
    if message:
        text.append(message + "\n", style=st.WARNING)
    text.append(f"{score.line()}   ", style=DIM)
    if question is None:
        text.append(
            "end of the trace: nothing left to ask (p to go back, a to leave quiz mode)", style="bold"
        )
        return text
    text.append(f"step {question.step + 1} ({question.phase}): ", style=st.FORWARD)
    text.append(question.prompt, style="bold")
    return text
