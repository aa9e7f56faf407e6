"""Quiz mode (README "Explore it live"): type the result of the next step; graded, then the app steps on.

``Quiz`` keeps its state in the model (on or off, the last grade, the score, a message for text
that was not a number) and asks the engine for the question and the grade. In the circuit, the
number asked for is a ``?`` on its wire (``hidden_wire``). No Textual here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tui_backprop.app import engine as door
from tui_backprop.app.model.model import Aspect, Model

if TYPE_CHECKING:
    from tui_backprop.app.engine import Question
    from tui_backprop.app.model.stepping import Stepper


class Quiz:
    """Asks for the next step's number, grades the answer, keeps the score."""

    def __init__(self, model: Model, stepper: Stepper) -> None:
        self.model = model
        self.stepper = stepper

    def set(self, on: bool) -> None:
        quiz = self.model.quiz
        quiz.on = on
        if on and quiz.score is None:
            quiz.score = door.Score()
        quiz.message = ""
        quiz.card_shown.clear()
        self.model.changed(Aspect.QUIZ)

    def toggle(self) -> None:
        self.set(not self.model.quiz.on)

    def question(self) -> Question | None:
        """What the next step computes (None at the end of the trace, or with nothing open)."""
        session = self.model.session
        if session is None:
            return None
        return door.question_for(session.trace, session.step + 1, self.model.focus())

    def answer(self, text: str) -> None:
        """Grade an answer and step on; text that is not a number gets a message, never a mark."""
        quiz = self.model.quiz
        question = self.question()
        if self.model.session is None:
            return
        if question is None:
            quiz.message = "nothing left to ask"
            self.model.changed(Aspect.QUIZ)
            return
        try:
            answer = door.evaluate(text)
        except door.NotANumberError as exc:
            quiz.message = f"not graded: {exc}"
            self.model.changed(Aspect.QUIZ)
            return
        quiz.message = ""
        quiz.last = door.grade(question, answer)
        if quiz.score is None:
            quiz.score = door.Score()
        quiz.score.record(quiz.last)
        with self.model.batch():
            self.model.changed(Aspect.QUIZ)
            self.stepper.go(question.step)

    def on_card(self) -> Question | None:
        """Quiz mode on the presenter card: the question the current step answers, shown as ``?``
        until revealed (README "Teaching with it"); None when the card may show the step."""
        model = self.model
        session = model.session
        if (
            session is None
            or not (model.quiz.on and model.presenting)
            or session.step in model.quiz.card_shown
        ):
            return None
        return door.question_for(session.trace, session.step, model.focus())

    def reveal_on_card(self) -> bool:
        """``n`` on a card that still hides its answer reveals it instead of stepping past the question
        (True when it did)."""
        session = self.model.session
        if session is None or self.on_card() is None:
            return False
        self.model.quiz.card_shown.add(session.step)
        self.model.changed(Aspect.QUIZ)
        return True

    def hidden_wire(self) -> tuple[str, str] | None:
        """In quiz mode, the wire whose number is asked for and which of its labels: the value
        leaving a forward step's node (``("e", "value")``); what a backward step sends back along
        its first input's wire (``("b", "callout")``). The circuit shows a ``?`` there."""
        session = self.model.session
        question = self.question() if self.model.quiz.on else None
        if question is None or session is None:
            return None
        node = session.trace.graph[question.node]
        if question.phase == "forward":
            return node.name, "value"
        return (node.inputs[0].name, "callout") if node.inputs else None
