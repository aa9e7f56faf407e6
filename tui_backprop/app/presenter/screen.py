"""Presenter mode: the current step as one large card, readable from the back of a room.

No header, footer or status details: the step's node and formula with numbers, its value, the
upstream gradient, each local derivative written out and what is sent on, the main numbers in
Textual's ``Digits``, white and yellow on black (projectors wash colours out). The stepping keys
work here too. The card watches the model; it never imports the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Digits, Static

from tui_backprop.app import engine as door
from tui_backprop.app import keys
from tui_backprop.app.inspector import derivation as dv
from tui_backprop.app.look import numbers as tf
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.badge import badge
from tui_backprop.app.look.styles import styled
from tui_backprop.app.model.model import Aspect, Model
from tui_backprop.app.screens.dialog import AnswersOnce
from tui_backprop.app.watching import Watching

if TYPE_CHECKING:
    from tui_backprop.app.model.session import Session

MAX_SENT = 3
"""Inputs whose contribution gets large digits; more are written as text."""


def big(array: np.ndarray | None) -> str:
    """A number for ``Digits``: the scalar, or a tensor's norm (its shape is said in the caption)."""
    if array is None:
        return "?"
    a = np.asarray(array)
    if a.size == 1:
        return tf.num(a.reshape(-1)[0]).replace("∞", "inf")
    with np.errstate(all="ignore"):
        return tf.num(float(np.linalg.norm(a.astype(np.float64).reshape(-1))))


def caption(label: str, array: np.ndarray | None) -> str:
    if array is None or np.asarray(array).size == 1:
        return label
    return f"{label}   norm of {tf.shape_str(np.shape(array))}"


class PresenterScreen(Watching, AnswersOnce, Screen[None]):
    """One step, large. Escape or P goes back; n, p, c and the jumps step as everywhere."""

    WATCHES = Aspect.SESSION | Aspect.STEP | Aspect.CHECK | Aspect.DISPLAY | Aspect.MARKS

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,P", "app.presenter", "Back", id="presenter.back", tooltip="Leave presenter mode"),
        *keys.DEBUGGER,
    ]

    def __init__(self, model: Model) -> None:
        super().__init__()
        self.model = model

    def model_changed(self, touched: Aspect) -> None:
        if self.model.session is not None:
            self.show(self.model.session)
        self.show_note(self.model.note)

    def compose(self) -> ComposeResult:
        with Vertical(id="card"):
            yield Static(id="p-title")
            yield Static(id="p-note")
            yield Static(id="p-formula")
            with Horizontal(id="p-main"):
                with Vertical(classes="p-number"):
                    yield Static(id="p-value-label", classes="p-label")
                    yield Digits(id="p-value", classes="p-value")
                with Vertical(classes="p-number"):
                    yield Static(id="p-upstream-label", classes="p-label")
                    yield Digits(id="p-upstream", classes="p-grad")
            yield Static(id="p-local")
            with Horizontal(id="p-sent"):
                for k in range(MAX_SENT):
                    with Vertical(classes="p-number", id=f"p-sent-{k}"):
                        yield Static(classes="p-label")
                        yield Digits(classes="p-grad")
            yield Static(id="p-check")
        yield Static(
            styled("n next · p previous · c continue · < > digits · Esc back", st.PROSE), id="p-keys"
        )

    def show_note(self, note: str | None) -> None:
        """A bookmark's note under the title (README "Explore it live": ' and " jump between them)."""
        if self.is_mounted:
            label = self.query_one("#p-note", Static)
            label.update(styled(f"🔖 {note}", st.FORWARD) if note else "")
            label.display = bool(note)

    def show(self, session: Session) -> None:
        """Write the card for the session's current step."""
        if not self.is_mounted:
            self.call_after_refresh(self.show, session)
            return
        current = session.current
        name = session.node_name
        node = session.trace.graph[name]
        trace = session.trace
        phase = current.phase if current else "forward"
        title = Text()
        title.append(f"{session.scenario.slug}", style="bold")
        if session.bug:
            title.append(f"  bug {session.bug}", style=st.BUG)
        title.append(f"   {phase} step {session.step + 1} of {session.n_steps}", style=st.CHANGED)
        self.query_one("#p-title", Static).update(title)

        formula = Text()
        if node.op is not None:
            formula.append(node.formula() or "", style="bold")
            shown = [
                tf.inline(v) if (v := trace.value_at(p.name, session.step)) is not None else "?"
                for p in node.inputs
            ]
            value = trace.value_at(name, session.step)
            formula.append("\n")
            formula.append(door.plug(node, shown))
            formula.append(" = ")
            formula.append(tf.inline(value) if value is not None else "?", style="bold")
        self.query_one("#p-formula", Static).update(formula)

        value = trace.value_at(name, session.step)
        self.query_one("#p-value-label", Static).update(caption(f"value {name}", value))
        self.query_one("#p-value", Digits).update(big(value))
        backward = phase == "backward"
        upstream = trace.grad_at(name, session.step) if backward else None
        self.query_one("#p-upstream-label", Static).update(
            caption(f"upstream dL/d{name}", upstream) if backward else ""
        )
        self.query_one("#p-upstream", Digits).update(big(upstream) if backward else "")

        local = Text()
        sent_boxes = [self.query_one(f"#p-sent-{k}", Vertical) for k in range(MAX_SENT)]
        for box in sent_boxes:
            box.display = False
        if backward and node.op is not None:
            links = dv.links_for(session, name)
            for link in links:
                lines = [dv.local_line(link), dv.product_line(link, name), dv.matrix_line(link)]
                for line in lines:
                    if line is not None:
                        local.append_text(line)
                        local.append("\n")
                if link.position < MAX_SENT:
                    box = sent_boxes[link.position]
                    box.display = True
                    box.query_one(Static).update(caption(f"sends dL/d{link.parent}", link.sent_array))
                    box.query_one(Digits).update(big(link.sent_array))
        elif node.op is not None:
            local.append("inputs  ", style=st.PROSE)
            local.append("   ".join(f"{p.name} = {tf.inline(trace.values[p.name])}" for p in node.inputs))
        self.query_one("#p-local", Static).update(local)

        verdict = Text()
        status = session.status_of(name)
        if backward and status not in ("hidden", "pending"):
            verdict.append_text(badge(status, padded=True))
            check = session.checks.get(name)
            if check is not None and node.op is not None:
                for position, parent in enumerate(node.inputs):
                    local = check.local.get(position)
                    if local is not None and local.numeric.size == 1:
                        verdict.append(f"  numeric dL/d{parent.name} ", style=st.PROSE)
                        verdict.append(tf.num(local.numeric.reshape(-1)[0]), style="bold")
        self.query_one("#p-check", Static).update(verdict)
