"""Playing with the graph: edit, nudge and undo leaf values, the step-size explorer, quiz mode
(README "Explore it live"; bookmarks, lessons and the handout are in ``lessons.py``).

``ExploreMixin`` is part of ``BackpropApp``. Edits live on the app, by leaf name, not on the
session: every re-run (an edit, a nudge, an undo, a live reload) builds a new session from the
graph run with them, staying on the same step.
"""

from __future__ import annotations

import re
from functools import partial
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.message import Message
from textual.worker import get_current_worker

if TYPE_CHECKING:
    from tui_backprop.app.engine import Engine
    from tui_backprop.app.loading import Request
    from tui_backprop.app.session import Session
    from tui_backprop.core.trace import Trace
    from tui_backprop.teach.edits import Edits
    from tui_backprop.teach.lesson import Bookmark
    from tui_backprop.teach.quiz import Grade, Score
    from tui_backprop.teach.stepsize import Sweep

NUDGE_H = 1e-3
"""The lecture's h (``teach.edits.NUDGE_H``), the first nudge's step; the last one typed after."""
TARGET = re.compile(
    r"^\s*(?P<name>[^\[=+\-\s][^\[=]*?)\s*(?:\[(?P<index>[\d\s,]*)\])?\s*(?P<op>\+=|-=|=)\s*(?P<value>.*)$"
)
"""``NAME = value``, ``NAME[i, j] = value``, ``NAME += h``, ``NAME[i] -= h``."""


class SweepReady(Message):
    def __init__(self, sweep: Sweep, eps: float) -> None:
        super().__init__()
        self.sweep, self.eps = sweep, eps


class ExploreMixin:
    """Edit / nudge / undo, the step-size explorer, quiz mode, bookmarks, saving a lesson."""

    engine: Engine
    session: Session | None
    loaded: Request | None
    inspected: str | None
    _edits: Edits | None
    _score: Score | None
    nudge_h: float
    quiz_on: bool
    last_grade: Grade | None
    quiz_message: str
    bookmarks: list[Bookmark]
    note: str | None
    nonfinite: str | None
    _edits_applied: bool

    def init_explore(self) -> None:
        """Nothing of the engine is imported here: the first frame must not wait for numpy."""
        self._edits = None
        self._score = None
        self.nudge_h = NUDGE_H
        self.quiz_on = False
        self.last_grade = None
        self.quiz_message = ""
        self.bookmarks = []
        self.note = None
        self.nonfinite = None
        self._edits_applied = False

    @property
    def edits(self) -> Edits:
        """The leaf values the user changed, by name, with their undo history."""
        if self._edits is None:
            from tui_backprop.teach.edits import Edits

            self._edits = Edits()
        return self._edits

    @edits.setter
    def edits(self, edits: Edits) -> None:
        self._edits = edits

    @property
    def score(self) -> Score:
        if self._score is None:
            from tui_backprop.teach.quiz import Score

            self._score = Score()
        return self._score

    # ------------------------------------------------------------ edits across re-runs and reloads
    def with_edits(self, trace: Trace) -> Trace:
        """The load hook: a freshly built trace run with the edits that still apply to it."""
        from tui_backprop.teach.edits import first_nonfinite

        if self._edits_applied:
            self._edits_applied = False
        elif self._edits:
            dropped = self.edits.carry_over(trace.graph)
            if dropped:
                self.notify(f"edits dropped (no such leaf now): {', '.join(dropped)}", timeout=4)
            if self.edits:
                try:
                    trace = self.engine.rerun(trace, self.edits.values)
                except Exception as exc:  # an edited value the rebuilt graph cannot run with
                    self.edits.values.clear()
                    self.notify(f"edits dropped: {exc}", severity="warning", timeout=6)
        self.nonfinite = first_nonfinite(trace) if self.edits else None
        return trace

    def _rerun(self) -> str | None:
        """Run the current graph with the edits and show it on the same step; an error message or None."""
        session = self.session
        if session is None:
            return "no scenario open"
        try:
            trace = self.engine.rerun(session.trace, self.edits.values)
        except Exception as exc:  # a forward rule that raises on the new value
            return f"the graph cannot run with this value: {exc}"
        self._edits_applied = True
        self.load_trace(
            session.scenario, trace, session.bug, session.dtype, keep_position=True, request=self.loaded
        )
        if self.nonfinite:
            self.notify(f"non-finite from here on: {self.nonfinite}", severity="warning", timeout=6)
        return None

    def _target(self) -> str | None:
        """The leaf an edit or a nudge starts from: the one looked at, else a leaf input of this node."""
        session = self.session
        if session is None:
            return None
        graph = session.trace.graph
        name = self.inspected or session.node_name
        node = graph[name]
        if node.is_leaf:
            return name
        leaves = [p.name for p in node.inputs if p.is_leaf] or [n.name for n in graph.nodes if n.is_leaf]
        return leaves[0] if leaves else None

    def _parse_target(
        self, text: str, ops: tuple[str, ...]
    ) -> tuple[str, tuple[int, ...] | None, str, str] | str:
        match = TARGET.match(text)
        if match is None or match["op"] not in ops:
            return f"write it as {' or '.join('NAME ' + op + ' …' for op in ops)}"
        index = None
        if match["index"] is not None:
            try:
                index = tuple(int(i) for i in match["index"].split(",") if i.strip())
            except ValueError:
                return "an index is whole numbers: NAME[0, 1]"
        return match["name"].strip(), index, match["op"], match["value"]

    # ------------------------------------------------------------ edit, nudge, undo
    def action_edit_value(self) -> None:
        from tui_backprop.app.explore_screens import EditScreen
        from tui_backprop.app.explore_views import leaves_hint, prefill

        name = self._target()
        if self.session is None or name is None:
            return
        trace = self.session.trace
        self.push_screen(EditScreen(prefill(trace, name), leaves_hint(trace), self.try_edit))

    def try_edit(self, text: str) -> str | None:
        """``x = 2.5``, ``W[0, 1] = 1/3`` or ``W = [[…]]``: refused with a message, value unchanged."""
        from tui_backprop.teach.edits import EditError, edited_value

        if self.session is None:
            return "no scenario open"
        parsed = self._parse_target(text, ("=",))
        if isinstance(parsed, str):
            return parsed
        name, index, _, value = parsed
        try:
            new = edited_value(self.session.trace, name, index, value)
        except EditError as exc:
            return str(exc)
        self.edits.set(name, new)
        error = self._rerun()
        if error is not None:
            self.edits.undo()
        return error

    def action_nudge(self) -> None:
        from tui_backprop.teach.edits import element_label

        name = self._target()
        if self.session is None or name is None:
            return
        value = self.session.trace.values[name]
        index = tuple(0 for _ in value.shape)
        label = element_label(name, index)
        answer = self.try_nudge(f"{label} += {self.nudge_h:g}")
        if isinstance(answer, str):
            self.notify(answer, severity="error", timeout=5)
            return
        from tui_backprop.app.explore_screens import NudgeScreen

        self.push_screen(NudgeScreen(*answer, f"{label} += {self.nudge_h:g}", self.try_nudge))

    def try_nudge(self, text: str) -> tuple[Text, Text] | str:
        """``x += 0.001``: nudge, re-run, and the lesson with every changed value; or why not."""
        from tui_backprop.app.explore_views import nudge_lesson, nudge_table
        from tui_backprop.teach.edits import EditError, nudge
        from tui_backprop.teach.typed_numbers import NotANumberError, evaluate

        session = self.session
        if session is None:
            return "no scenario open"
        parsed = self._parse_target(text, ("+=", "-="))
        if isinstance(parsed, str):
            return parsed
        name, index, op, value = parsed
        try:
            h = evaluate(value) * (1 if op == "+=" else -1)
        except NotANumberError as exc:
            return f"h: {exc}"
        before = session.trace
        if name in before.graph and index is None and before.values[name].ndim == 0:
            index = ()
        if index is None:
            return f"choose an element: {name}[0, …] += h"
        try:
            result, after = nudge(before, self.edits, name, index, h)
        except EditError as exc:
            return str(exc)
        except Exception as exc:  # a forward rule that raises on the nudged value
            return f"the graph cannot run with this value: {exc}"
        self.nudge_h = abs(h)
        self._edits_applied = True
        self.load_trace(
            session.scenario, after, session.bug, session.dtype, keep_position=True, request=self.loaded
        )
        return nudge_lesson(result, before.output.name), nudge_table(result, before, after)

    def action_undo_edit(self) -> None:
        name = self.edits.undo()
        if name is None:
            self.notify("nothing to undo", timeout=2)
            return
        error = self._rerun()
        self.notify(error or f"undone: {name} is back to its previous value", timeout=3)

    def explore_status(self) -> list[str]:
        """What the status line adds: values that differ from the file, non-finite, quiz, bookmark."""
        parts = []
        session = self.session
        if session is not None and self._edits:
            differ = self.edits.differing(session.trace.graph)
            if differ:
                parts.append(f"✎ values differ from the file: {', '.join(differ)}")
        if self.nonfinite:
            parts.append(f"! {self.nonfinite}")
        if self.quiz_on:
            parts.append(self.score.line())
        if self.note:
            parts.append(f"🔖 {self.note}")
        return parts

    # ------------------------------------------------------------ the step-size explorer
    def action_step_size_explorer(self) -> None:
        session = self.session
        if session is None:
            return
        name = self.inspected or session.node_name
        check = session.checks.get(name)
        index: tuple[int, ...] = tuple(0 for _ in session.trace.values[name].shape)
        if check is not None and check.grad is not None and check.grad.differing():
            index = check.grad.differing()[0]
        self._sweep(session, name, index, dict(self.edits.values))

    @work(thread=True, exclusive=True, group="sweep", exit_on_error=False)
    def _sweep(self, session: Session, name: str, index: tuple[int, ...], values: dict[str, Any]) -> None:
        from tui_backprop.teach.stepsize import sweep

        worker = get_current_worker()
        traces = {}
        try:
            for dtype in ("float64", "float32"):
                same = dtype == session.dtype
                traces[dtype] = (
                    session.trace
                    if same
                    else self.engine.rebuild(session.scenario, session.bug, dtype, values)
                )
            result = sweep(traces, name, index)
        except Exception as exc:  # the author's ops on float32: anything can happen
            self.call_from_thread(self.notify, f"the sweep failed: {exc}", severity="error", timeout=6)
            return
        if not worker.is_cancelled:
            self.post_message(SweepReady(result, session.settings.eps))

    def on_sweep_ready(self, message: SweepReady) -> None:
        from tui_backprop.app.explore_screens import StepSizeScreen
        from tui_backprop.app.stepsize_view import explorer_lines

        self.push_screen(StepSizeScreen(partial(explorer_lines, message.sweep, message.eps)))

    # ------------------------------------------------------------ quiz mode
    def action_toggle_quiz(self) -> None:
        self.set_quiz(not self.quiz_on)

    def set_quiz(self, on: bool) -> None:
        from tui_backprop.app.explore_screens import QuizBar

        self.quiz_on = on
        bar = self.debugger.query_one(QuizBar)
        bar.display = on
        self.quiz_message = ""
        self.refresh_view()
        if on:
            bar.focus_input()
        else:
            self.debugger.query_one("#nodes").focus()

    def refresh_quiz(self) -> None:
        """The refresh hook: the quiz bar asks about the step after the current one."""
        from tui_backprop.app.explore_screens import QuizBar
        from tui_backprop.app.explore_views import quiz_text
        from tui_backprop.teach.quiz import question_for

        session = self.session
        if not self.quiz_on or session is None:
            return
        question = question_for(session.trace, session.step + 1)
        self.debugger.query_one(QuizBar).ask(
            quiz_text(question, self.last_grade, self.score, self.quiz_message)
        )

    def quiz_on_circuit(self, state: Any) -> Any:
        """The circuit hook: in quiz mode the number asked for shows as ``?`` on its wire (the value
        leaving a forward step's node; what a backward step sends back along its first input's wire)."""
        from tui_backprop.teach.quiz import question_for

        session = self.session
        if not self.quiz_on or session is None:
            return state
        question = question_for(session.trace, session.step + 1)
        if question is None:
            return state
        from tui_backprop.app.circuit_labels import CALLOUT, WireLabels

        node = session.trace.graph[question.node]
        if question.phase == "forward":
            labels = state.labels.get(node.name)
            if labels is not None:
                hidden = ("?", CALLOUT)
                state.labels[node.name] = WireLabels(hidden, labels.below, labels.callout, labels.total)
        elif node.inputs:
            parent = node.inputs[0].name
            labels = state.labels.get(parent)
            if labels is not None:
                state.labels[parent] = WireLabels(labels.above, labels.below, ("?", CALLOUT), labels.total)
        return state

    def on_quiz_bar_answered(self, message: Any) -> None:
        """Grade an answer; text that is not a number gets a message, never a mark; nothing is run."""
        from tui_backprop.app.explore_screens import QuizBar
        from tui_backprop.teach.quiz import grade, question_for
        from tui_backprop.teach.typed_numbers import NotANumberError, evaluate

        session = self.session
        if session is None:
            return
        question = question_for(session.trace, session.step + 1)
        if question is None:
            self.quiz_message = "nothing left to ask"
            self.refresh_quiz()
            return
        try:
            answer = evaluate(message.text)
        except NotANumberError as exc:
            self.quiz_message = f"not graded: {exc}"
            self.refresh_quiz()
            return
        self.quiz_message = ""
        self.last_grade = grade(question, answer)
        self.score.record(self.last_grade)
        self.debugger.query_one(QuizBar).clear()
        self.go(question.step)
        self.refresh_quiz()
