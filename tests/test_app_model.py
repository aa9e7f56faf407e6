"""The app's model and services driven with no App and no terminal: what a key does, minus the drawing.

Each test builds a ``Model``, hands it to the services the way ``BackpropApp`` does, and runs
their background work as plain asyncio tasks (``AsyncioTasks``). A subscriber records which
aspects every change touched, as a widget would see them.
"""

from __future__ import annotations

import asyncio

from app_support import sync

from tui_backprop.app.engine import Engine
from tui_backprop.app.explore.editing import Editor
from tui_backprop.app.explore.lessons import Lessons
from tui_backprop.app.explore.quiz import Quiz
from tui_backprop.app.model.elements import Elements
from tui_backprop.app.model.loading import Loader
from tui_backprop.app.model.model import Aspect, Model
from tui_backprop.app.model.stepping import Stepper
from tui_backprop.app.model.tasks import AsyncioTasks


class Services:
    """The model and its services, wired as the App wires them; every change and notice recorded."""

    def __init__(self) -> None:
        self.model = Model()
        self.tasks = AsyncioTasks()
        engine = Engine()
        self.stepper = Stepper(self.model)
        self.loader = Loader(self.model, engine, self.tasks)
        self.editor = Editor(self.model, engine, show=self.loader.show_edited)
        self.loader.prepare = self.editor.with_edits
        self.quiz = Quiz(self.model, self.stepper)
        self.lessons = Lessons(self.model, engine, self.stepper)
        self.loader.apply_lesson = self.lessons.apply
        self.changes: list[Aspect] = []
        self.notices: list[str] = []
        self.model.subscribe(self.changes.append)
        self.model.on_notice(lambda message, severity, timeout: self.notices.append(message))

    async def open(self, spec: str, bug: str | None = None) -> None:
        self.loader.open(spec, bug)
        await self.settle()

    async def settle(self) -> None:
        """Until every load and check has finished and its last results are announced."""
        while True:
            await self.tasks.wait()
            await asyncio.sleep(0)
            if not self.loader.checker.pending and all(t.done() for t in self.tasks.running.values()):
                return


@sync
async def test_a_load_shows_the_trace_and_its_check_arrives_in_announced_bursts():
    s = Services()
    await s.open("sigmoid-chain", "reciprocal-sign")
    session = s.model.session
    assert session is not None and session.bug == "reciprocal-sign" and s.model.loading is None
    assert session.check_complete and session.blamed == ["f"] and s.model.progress is None
    assert any(change & Aspect.SESSION for change in s.changes)
    checks = [change for change in s.changes if change & Aspect.CHECK]
    assert 1 < len(checks) <= len(session.node_names) + 2  # a start, bursts, the end


@sync
async def test_stepping_tells_subscribers_what_moved_and_says_why_it_cannot_continue():
    s = Services()
    await s.open("sigmoid-chain")
    s.changes.clear()
    s.stepper.step(1)
    assert s.model.session.step == 1 and s.changes == [Aspect.STEP | Aspect.FOCUS]
    s.stepper.peek("x")
    assert s.model.looked_at == "x" and s.changes[-1] == Aspect.FOCUS
    s.stepper.toggle_breakpoint()
    assert s.notices[-1] == "x is a leaf: it has no step to stop at"
    s.stepper.continue_run(1)  # no breakpoint, no mismatch: to the end, and it says so
    assert s.model.session.step == s.model.session.backward_end
    assert s.notices[-1] == "no breakpoint or mismatch before the end"
    s.stepper.play()
    assert s.model.playing and s.model.session.step == 0  # from the start, being at the end
    for _ in range(s.model.session.n_steps):
        s.stepper.tick()
    assert not s.model.playing and s.model.session.step == s.model.session.backward_end


@sync
async def test_a_newer_load_supersedes_an_older_one_and_a_failure_keeps_the_last_trace():
    s = Services()
    s.loader.open("deep-mlp")
    s.loader.open("softmax")  # before the first has answered
    await s.settle()
    assert s.model.session.scenario.slug == "softmax"
    await s.open("tests/scenario_files/syntax_error.py")
    assert s.model.failure is not None and "syntax error" in s.model.failure.message
    assert s.model.session.scenario.slug == "softmax"  # the last good trace stays
    await s.open("l1-mse")
    assert s.model.failure is None and s.model.session.scenario.slug == "l1-mse"


@sync
async def test_an_edit_reruns_on_the_same_step_a_refused_one_changes_nothing_and_undo_returns():
    s = Services()
    await s.open("sigmoid-chain")
    s.stepper.go(2)
    before = s.model.session.trace
    assert "computed by an op" in s.editor.try_edit("a = 1")
    assert s.editor.try_edit("x = two") is not None and s.model.session.trace is before
    assert s.editor.try_edit("x = 1/2") is None
    await s.settle()
    assert s.model.session.step == 2 and float(s.model.session.trace.values["a"]) == 1.5
    s.editor.undo()
    await s.settle()
    assert float(s.model.session.trace.values["x"]) == 2.0 and s.model.session.step == 2
    assert s.notices[-1] == "undone: x is back to its previous value"


@sync
async def test_the_quiz_grades_an_answer_steps_on_and_keeps_the_score():
    s = Services()
    await s.open("sigmoid-chain")
    s.quiz.set(True)
    assert s.quiz.question().prompt.startswith("b = 6 + (-4)")
    s.quiz.answer("six")
    assert s.model.quiz.message.startswith("not graded") and s.model.session.step == 0
    s.quiz.answer("2")
    assert s.model.quiz.last.correct and s.model.session.step == 1
    assert s.model.quiz.score.line() == "quiz 1/1 right"
    s.stepper.go(8)  # the next step is c = -1 · b sending its gradient back to b
    assert s.quiz.hidden_wire() == ("b", "callout")
    s.stepper.go(1)
    assert s.quiz.hidden_wire() == ("c", "value")


@sync
async def test_bookmarks_jump_with_their_notes_wrapping_around():
    s = Services()
    await s.open("sigmoid-chain")
    s.stepper.go(6)
    assert s.lessons.toggle_bookmark() == "step 7 (backward f)"  # the title of the note to ask for
    assert s.lessons.add_bookmark(6, "two\nlines") == "one line, please"
    assert s.lessons.add_bookmark(6, "the sign") is None
    s.stepper.go(11)
    s.lessons.add_bookmark(11, "the end")
    s.lessons.next_bookmark(1)  # past the last one: back to the first
    assert s.model.session.step == 6 and s.model.note == "1/2 the sign"
    s.lessons.next_bookmark(-1)
    assert s.model.session.step == 11 and s.model.note == "2/2 the end"
    assert s.lessons.toggle_bookmark() is None and [b.step for b in s.model.bookmarks] == [6]


@sync
async def test_a_chosen_element_is_followed_per_tensor_until_forgotten():
    s = Services()
    await s.open("two-layer-net", "matmul-grad-transposed")
    trace = s.model.session.trace
    s.stepper.go(s.model.session.n_steps - 1)
    default = s.model.focus().index(trace, "W1")
    assert default == (0, 1)  # the first element the blamed rule sends wrong, now it may be shown
    s.changes.clear()
    s.model.choose_element("W1", (1, 0))
    assert s.model.focus().index(trace, "W1") == (1, 0) and s.changes == [Aspect.ELEMENT]
    s.model.choose_element("W1", (1, 0))  # the same choice again: nothing to redraw
    assert s.changes == [Aspect.ELEMENT]
    s.stepper.go(0)
    assert s.model.focus().index(trace, "W1") == (1, 0)  # kept while stepping
    s.model.choose_element("W1", None)
    assert s.model.focus().index(trace, "W1") != (1, 0)


@sync
async def test_the_path_of_the_followed_element_waits_for_its_backward_rule_and_is_none_among_numbers():
    """The inputs a backward rule sends an element's gradient to are its path only once that rule
    has run: the transposed rule's path would give the bug away at a forward step (no spoilers)."""
    s = Services()
    await s.open("two-layer-net", "matmul-grad-transposed")
    session = s.model.session
    s.model.choose_element("z1", (1, 0))
    s.stepper.go(session.step_of("z1", "forward"))
    early = Elements(s.model).path("z1")
    assert early is not None and early.inputs == {} and early.consumers["a1"].tolist() == [[False], [True]]
    s.stepper.go(session.step_of("z1", "backward"))
    sent = Elements(s.model).path("z1")
    assert sent is not None and sent.inputs["W1"].tolist() == [[False, True], [False, True]]  # the bug
    s.stepper.go(session.step_of("z1", "forward"))
    session.show_all = True
    assert Elements(s.model).path("z1").inputs["W1"].tolist() == [[False, True], [False, True]]
    await s.open("sigmoid-chain")
    assert Elements(s.model).path("a") is None  # numbers only: nothing to pick out


@sync
async def test_a_bookmark_note_is_shown_only_at_its_own_step():
    """Stepping from bookmark 1 towards bookmark 2 never shows bookmark 1's note at another step."""
    s = Services()
    await s.open("sigmoid-chain")
    s.lessons.add_bookmark(6, "the sign")
    s.lessons.add_bookmark(9, "fan-out")
    s.lessons.next_bookmark(1)
    assert s.model.note == "1/2 the sign"
    s.stepper.step(1)
    assert s.model.note is None
    s.stepper.step(2)
    assert s.model.session.step == 9 and s.model.note == "2/2 fan-out"


def test_the_same_notice_is_not_stacked_while_it_is_still_shown(monkeypatch):
    import tui_backprop.app.model.model as model_module

    now = [100.0]
    monkeypatch.setattr(model_module.time, "monotonic", lambda: now[0])
    s = Services()
    for _ in range(3):  # n held down at the end of a run that cannot train
        s.model.notify("the loss is not finite: there is nothing to learn from", "warning", 4)
    s.model.notify("another word")
    s.model.notify("the loss is not finite: there is nothing to learn from", "warning", 4)
    now[0] += 5  # the toast has gone: said again
    s.model.notify("the loss is not finite: there is nothing to learn from", "warning", 4)
    assert (
        s.notices
        == ["the loss is not finite: there is nothing to learn from", "another word"]
        + ["the loss is not finite: there is nothing to learn from"] * 2
    )
