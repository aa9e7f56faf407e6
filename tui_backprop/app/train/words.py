"""What the update step and training say: an update with its numbers, the loss's change against the
prediction, and the loss curve (README "The update step, and training").

Pure functions from the engine's ``Update`` and ``Training`` to Rich ``Text``; the inspector, the
status line, the presenter card and the training panel show them. The numbers are the engine's
(``ParamUpdate.line``, ``Update.prediction_line``) in the digits setting; the curve is drawn with
the step-size explorer's Braille plot.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text

from tui_backprop.app import engine as door
from tui_backprop.app.explore import braille as bp
from tui_backprop.app.look import digits as display
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.styles import styled

if TYPE_CHECKING:
    from tui_backprop.app.engine import Focus, Training
    from tui_backprop.app.model.session import Session

LOSS = st.WIRE_GRAD
"""The loss curve's colour: a gradient's (what training follows down)."""


def num(x: float) -> str:
    return door.num(x, display.digits())


def update_lines(session: Session, focus: Focus | None = None) -> list[Text]:
    """The update step shown: which parameter, its step with the numbers (``w0 ← w0 - lr · dL/dw0 = 3
    - 0.1 · 0.21 = 2.979``), the element followed in a tensor, and what the whole update predicts for
    the loss (``ΔL ≈ -lr · Σ‖g‖² = …``)."""
    pending, k = session.pending, session.update
    if pending is None or k is None or k >= len(pending.updates):
        return []
    step = pending.updates[k]
    digits = display.digits()
    name = door.Optimizer(step.lr, step.momentum).name
    lines = [styled(f"update {k + 1} of {len(pending.updates)}  ({name})", st.LABEL)]
    lines.append(Text(step.line(digits), style="bold"))
    if step.before.size > 1:
        index = (focus or door.Focus()).index(session.trace, step.name)
        label = door.element_label(step.name, index)
        moved = f"{num(float(step.before[index]))} - {num(step.lr)} · {_factor(float(step.velocity[index]))}"
        line = Text(f"{label} ← {moved} = ")
        line.append(num(float(step.after[index])), style="bold")
        lines.append(line)
    lines.append(Text(""))
    lines.append(Text(pending.prediction_line(digits)))
    lines.append(styled("to first order; the next forward pass says how close", st.DIM))
    return lines


def _factor(x: float) -> str:
    text = num(x)
    return f"({text})" if text.startswith("-") else text


def loss_change(run: Training, k: int) -> Text | None:
    """After update k: ``loss 0.8808 → 0.8752: ΔL = -0.005623, predicted -0.005512 (ratio 1.02)``,
    and the accuracy's change where the scenario has one (None for iteration 0)."""
    if not 0 < k < len(run):
        return None
    before, after = run.iterations[k - 1], run.iterations[k]
    actual = after.loss - before.loss
    text = Text()
    text.append(f"after update {k}: ", style=st.DIM)
    text.append(f"loss {num(before.loss)} → {num(after.loss)}", style="bold")
    text.append(f"   ΔL = {num(actual)}")
    if after.predicted is not None:
        text.append(f", predicted {num(after.predicted)}", style=st.DIM)
        if after.predicted != 0 and math.isfinite(actual):
            text.append(f" (actual / predicted = {num(actual / after.predicted)})", style=st.DIM)
    if after.accuracy is not None and before.accuracy is not None:
        text.append(f"   accuracy {percent(before.accuracy)} → {percent(after.accuracy)}")
    return text


def percent(x: float) -> str:
    return f"{100 * x:.0f} %" if math.isfinite(x) else "?"


def curve_lines(
    run: Training, shown: int, width: int, height: int, busy: bool = False, reached: bool = True
) -> list[Text]:
    """The loss per iteration as a Braille line, the iteration shown marked by a dotted line, under a
    line of what it is: ``iteration 12 of 50  loss 0.42  accuracy 83 %  SGD, lr 0.5``. Until the
    forward pass of the iteration shown has reached the loss (``reached``), its loss is ``?`` and
    its point left out (no spoilers)."""
    width = max(30, width)
    iteration = run.iterations[min(shown, len(run) - 1)]
    head = Text(no_wrap=True, overflow="ellipsis")
    head.append(f"iteration {shown} of {len(run) - 1}", style=st.LABEL)
    head.append(f"   loss {num(iteration.loss) if reached else '?'}", style="bold")
    if iteration.accuracy is not None and reached:
        head.append(f"   accuracy {percent(iteration.accuracy)}", style="bold")
    head.append(f"   {run.optimizer.name}", style=st.DIM)
    if busy:
        head.append("   training…", style=st.CHANGED)
    else:
        head.append("   , . iterations · Space plays · T trains more · l learning rate", style=st.DIM)
    if height < 3:
        return [head]
    losses = [(float(k), it.loss) for k, it in enumerate(run.iterations)]
    finite = [y for _, y in losses if math.isfinite(y)]
    low, high = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if high - low < 1e-12 * max(1.0, abs(high)):
        low, high = low - 0.5, high + 0.5
    points = [(x, y) if math.isfinite(y) and (reached or x != shown) else None for x, y in losses]
    last = max(1.0, float(len(run) - 1))
    x_axis = bp.Axis(0.0, last, _integer_ticks(last, width), label=lambda t: f"{t:.0f}")
    y_axis = bp.Axis(low, high, [high, low] if height >= 4 else [high], label=lambda t: num3(t))
    body = bp.plot([bp.Series("loss", points, LOSS)], x_axis, y_axis, width, height - 1, vline=float(shown))
    return [head, *body]


def num3(x: float) -> str:
    return door.num(x, 3)


def _integer_ticks(last: float, width: int) -> list[float]:
    """Round iteration numbers, about one per ten cells."""
    count = max(2, width // 10)
    step = max(1, math.ceil(last / count))
    nice = next(n for n in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 10_000) if n >= step)
    return [float(t) for t in np.arange(0, last + 1e-9, nice)]
