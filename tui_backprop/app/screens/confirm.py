"""A yes-or-no question before something that cannot be taken back: quitting with unsaved edits or
bookmarks, writing over a file that is there.

Textual's usual modal: the question, what it would cost, two buttons. The safe answer has the focus,
so a stray Enter keeps everything; ``y`` answers yes, ``n`` and Escape no. It answers True or False.
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Footer, Label, Static

from tui_backprop.app.look import styles as st
from tui_backprop.app.look.styles import styled
from tui_backprop.app.screens.dialog import AnswersOnce


class ConfirmScreen(AnswersOnce, ModalScreen[bool]):
    """A question, the details of what is at stake, and yes / no."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Yes: go ahead"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no", tooltip="No: change nothing"),
        Binding("left,right,up,down", "app.focus_next", "Other answer", show=False, id="confirm.move"),
    ]
    AUTO_FOCUS = "#confirm-no"

    def __init__(self, question: str, details: str, yes: str, no: str) -> None:
        super().__init__()
        self.question = question
        self.details = details
        self.yes = yes
        self.no = no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Label(Text(self.question), id="confirm-question")
            if self.details:
                yield Static(styled(self.details, st.PROSE), id="confirm-details")
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self.yes} (y)", variant="error", id="confirm-yes")
                yield Button(f"{self.no} (n)", variant="primary", id="confirm-no")
        yield Footer(compact=True)

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
