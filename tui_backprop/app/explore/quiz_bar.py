"""The quiz bar under the stepping view (README "Explore it live"): the question, the last grade, an input.

It watches the model's quiz state and step, and posts ``Answered`` with what was typed; the
screen hands that to the ``Quiz`` service, which grades it. Esc leaves the input for the node
list (the stepping keys work again; Tab comes back). Its question and input are made the first
time quiz mode is on: the first frame does not wait for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Static

from tui_backprop.app.model.model import Aspect, Model
from tui_backprop.app.watching import Watching

if TYPE_CHECKING:
    from rich.text import Text
    from textual.widgets import Input

    from tui_backprop.app.explore.quiz import Quiz


PLACEHOLDER = "your answer: a number or arithmetic (0.105 * 3); Enter grades"


class QuizBar(Watching, Vertical):
    """Under the stepping view in quiz mode: the question, the last grade and the score, an input."""

    WATCHES = Aspect.SESSION | Aspect.STEP | Aspect.QUIZ | Aspect.DISPLAY

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Leave the answer", id="quiz.leave", tooltip="Back to the node list")
    ]

    class Answered(Message):
        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    def __init__(self, model: Model, quiz: Quiz, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.quiz = quiz
        self._graded: object = None

    def model_changed(self, touched: Aspect) -> None:
        """Shown in quiz mode, asking about the step after the current one."""
        state = self.model.quiz
        if self.display != state.on:
            self.display = state.on
        if not state.on or self.model.session is None or state.score is None:
            return
        from tui_backprop.app.explore.words import quiz_text

        self._make_children()
        self.ask(quiz_text(self.quiz.question(), state.last, state.score, state.message))
        if state.last is not self._graded:  # a new grade: the answer box is ready for the next one
            self._graded = state.last
            self.clear()

    def _make_children(self) -> None:
        if self.query("#quiz-input"):
            return
        from textual.widgets import Input

        self.mount(
            Static("", id="quiz-question"),
            Input(
                placeholder="your answer: a number or arithmetic (0.105 * 3); Enter grades", id="quiz-input"
            ),
        )

    def ask(self, question: Text) -> None:
        self.query_one("#quiz-question", Static).update(question)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the answer box (the handler is found by its name: Input is imported late)."""
        if event.input.id == "quiz-input":
            event.stop()
            self.post_message(self.Answered(event.value))

    def clear(self) -> None:
        self.query_one("#quiz-input").value = ""

    def action_leave(self) -> None:
        nodes = self.screen.query("#nodes")
        if nodes:
            nodes.first().focus()

    def focus_input(self) -> None:
        self._make_children()
        self.query_one("#quiz-input").focus()
