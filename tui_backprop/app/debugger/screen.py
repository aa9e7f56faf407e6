"""The stepping screen: it composes the widgets that draw the model and routes what they report.

The node list (or the circuit) on top or left, the inspector, the quiz bar, the status line and
the keys. Each widget watches the model itself; the screen only switches between the node list
and the circuit (the model's ``view``), moves the focus, and hands the widgets' messages to the
services: a highlighted node is peeked at, a selected one stepped to, a quiz answer graded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer

from tui_backprop.app import keys
from tui_backprop.app.debugger.node_list import NodeList
from tui_backprop.app.debugger.status import StatusBar
from tui_backprop.app.explore.quiz_bar import QuizBar
from tui_backprop.app.inspector.widget import Inspector
from tui_backprop.app.model.model import Aspect, Model
from tui_backprop.app.train.panel import TrainingPanel
from tui_backprop.app.watching import Watching

if TYPE_CHECKING:
    from textual.widget import Widget

    from tui_backprop.app.circuit.view import CircuitView
    from tui_backprop.app.explore.quiz import Quiz
    from tui_backprop.app.model.stepping import Stepper


class DebuggerScreen(Watching, Screen):
    """Node list on the left (or the circuit above), inspector on the right, status line and keys below."""

    BINDINGS = keys.DEBUGGER
    AUTO_FOCUS = "#nodes"
    WATCHES = Aspect.VIEW | Aspect.QUIZ

    def __init__(self, model: Model, stepper: Stepper, quiz: Quiz, **kwargs) -> None:
        super().__init__(**kwargs)
        self.model = model
        self.stepper = stepper
        self.quiz = quiz
        self._quiz_on = False

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield NodeList(self.model, id="nodes")
            yield Inspector(self.model, id="inspector")
        yield TrainingPanel(self.model, id="training")
        yield QuizBar(self.model, self.quiz, id="quiz")
        yield StatusBar(self.model, id="status")
        yield Footer(compact=True, id="footer")

    def model_changed(self, touched: Aspect) -> None:
        """The circuit or the node list, and where the keys go."""
        circuit = self.model.view == "circuit"
        if circuit != self.has_class("-circuit"):
            self.set_class(circuit, "-circuit")
            (self.circuit() if circuit else self.query_one(NodeList)).focus()
        quiz = self.model.quiz.on
        if quiz != self._quiz_on:
            self._quiz_on = quiz
            if quiz:
                self.query_one(QuizBar).focus_input()
            else:
                self.query_one(NodeList).focus()

    def circuit(self) -> Widget:
        """The circuit view, mounted above the node list the first time it is shown (its module
        and its widget are not needed for the first frame)."""
        found = self.query("#circuit")
        if found:
            return found.first()
        from tui_backprop.app.circuit.view import CircuitView

        circuit = CircuitView(self.model, self.quiz.hidden_wire, id="circuit")
        self.mount(circuit, before=self.query_one("#main"))
        return circuit

    @on(NodeList.Highlighted)
    def _peek(self, event: NodeList.Highlighted) -> None:
        self.stepper.peek(event.name)

    @on(NodeList.Selected)
    def _select(self, event: NodeList.Selected) -> None:
        self.stepper.select(event.name)

    def on_circuit_view_selected(self, event: CircuitView.Selected) -> None:
        """A gate was clicked."""
        self.stepper.select(event.name)

    @on(QuizBar.Answered)
    def _answer(self, event: QuizBar.Answered) -> None:
        self.quiz.answer(event.text)
