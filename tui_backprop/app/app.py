"""The Textual app: it builds the model and its services, composes the screens and routes the keys.

Nothing is computed or drawn here. The session is one observable ``Model`` (``model/``); the
services change it (``Stepper``, ``Elements``, ``Loader``, ``Editor``, ``Quiz``, ``Lessons``,
``StepSizes``); the widgets watch it and draw themselves. The App turns a key into a service call, pushes the
screen a service needs an answer from, and keeps the two timers (playing, live reload). It is
handed an ``Engine`` and a ``Request`` (memray's habit); ``make_app`` builds it for ``main()``
and for the tests alike. No part of the app imports this module.
"""

from __future__ import annotations

import asyncio
import signal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual.app import App
from textual.screen import Screen
from textual.timer import Timer

from tui_backprop.app import keys
from tui_backprop.app.debugger.screen import DebuggerScreen
from tui_backprop.app.engine import Engine, Overrides
from tui_backprop.app.explore.quiz import Quiz
from tui_backprop.app.look import digits as display
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.themes import PROJECTOR
from tui_backprop.app.model.elements import Elements
from tui_backprop.app.model.loading import RELOAD_POLL, Loader
from tui_backprop.app.model.model import PACES, Aspect, Model, Request
from tui_backprop.app.model.stepping import Stepper
from tui_backprop.app.model.tasks import Work
from tui_backprop.app.train.service import Trainer

if TYPE_CHECKING:
    from collections.abc import Callable

    from tui_backprop.app.debugger.asking import Asking
    from tui_backprop.app.engine import Scenario
    from tui_backprop.app.explore.editing import Editor
    from tui_backprop.app.explore.keeping import Keeping
    from tui_backprop.app.explore.lessons import Lessons
    from tui_backprop.app.explore.sweeping import StepSizes

SIGTERM_EXIT = 128 + signal.SIGTERM
"""The shell's status for a process ended by SIGTERM."""

__all__ = ["BackpropApp", "DebuggerScreen", "Request", "main", "make_app"]


def backprop_commands() -> type:
    """The palette's provider, imported when the palette first opens (``textual.command`` is not
    needed for the first frame)."""
    from tui_backprop.app.commands import BackpropCommands

    return BackpropCommands


def warm_up_views() -> None:
    """Import what drawing a trace needs (numpy included), in the load's thread, not the UI's."""
    import tui_backprop.app.debugger.rows
    import tui_backprop.app.debugger.status_text
    import tui_backprop.app.inspector.text  # noqa: F401


class BackpropApp(App[int]):
    """Steps through a trace; every number it shows comes from the engine, through the model."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    """Absolute, so subclasses defined elsewhere (tests, benchmarks) find it too."""
    TITLE = "backprop-tui"
    BINDINGS = keys.GLOBAL
    COMMANDS = App.COMMANDS | {backprop_commands}
    COMPONENT_CLASSES: ClassVar[set[str]] = set(st.COMPONENT_CLASSES)
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-tiny"), (60, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-short"), (16, "-tall")]

    def __init__(
        self,
        request: Request | None,
        engine: Engine | None = None,
        overrides: Overrides | None = None,
        dtype: str = "float64",
        quiz: bool = False,
        mystery: bool = False,
    ) -> None:
        """``mystery``: mystery-bug mode (README "Teaching with it"), bugs shown only as "bug N"."""
        super().__init__()
        display.set_digits(display.DIGITS)  # a fresh app shows the default digits
        self.console.push_theme(st.blank_theme())
        self.register_theme(PROJECTOR)
        self.request = request
        self.start_quiz = quiz
        self.engine = engine or Engine()
        self.model = Model(
            default_dtype=(request.dtype if request else None) or dtype,
            overrides=overrides or Overrides(),
            mystery=mystery,
        )
        self.stepper = Stepper(self.model)
        self.elements = Elements(self.model)
        self.loader = Loader(
            self.model,
            self.engine,
            self,
            prepare=lambda trace, applied: self.editor.with_edits(trace, applied),
            apply_lesson=lambda lesson: self.lessons.apply(lesson),
            warm_up=warm_up_views,
        )
        self.quiz = Quiz(self.model, self.stepper)
        self.trainer = Trainer(self.model, self.engine, self.loader, self, self.stepper)
        self.play_timer: Timer | None = None
        self.watch_timer: Timer | None = None
        self._sigterm_caught = False

    # The services the first frame does not need are made (and their modules imported) on first use.
    @cached_property
    def editor(self) -> Editor:
        from tui_backprop.app.explore.editing import Editor

        return Editor(self.model, self.engine, show=self.loader.show_edited)

    @cached_property
    def lessons(self) -> Lessons:
        from tui_backprop.app.explore.lessons import Lessons

        return Lessons(self.model, self.engine, self.stepper, deliver=self.keeping.deliver)

    @cached_property
    def asking(self) -> Asking:
        from tui_backprop.app.debugger.asking import Asking

        return Asking(self)

    @cached_property
    def keeping(self) -> Keeping:
        from tui_backprop.app.explore.keeping import Keeping

        return Keeping(self)

    @cached_property
    def step_sizes(self) -> StepSizes:
        from tui_backprop.app.explore.sweeping import StepSizes

        return StepSizes(self.model, self.engine)

    def spawn(self, work: Work, group: str) -> None:
        """The services' background work, as Textual workers (``model.tasks.Tasks``)."""
        self.run_worker(work, group=group, exclusive=True, exit_on_error=False)

    # ------------------------------------------------------------ startup and shutdown
    def get_default_screen(self) -> Screen:
        return DebuggerScreen(self.model, self.stepper, self.quiz, id="_default")

    @property
    def debugger(self) -> DebuggerScreen:
        return self.screen_stack[0]  # type: ignore[return-value]

    def on_mount(self) -> None:
        self._catch_sigterm()
        self._push_styles()
        self.theme_changed_signal.subscribe(self, lambda _theme: self._restyle())
        self.model.on_notice(self._notice)
        self.model.subscribe(self._route, Aspect.PLAY | Aspect.FAILURE | Aspect.VIEW | Aspect.SESSION)
        if self.start_quiz:
            self.call_after_refresh(self.quiz.set, True)
        request = self.request
        if request is None:
            self.action_open_picker()
            return
        self.model.loading = request
        self.model.changed(Aspect.LOADING)
        # After the first frame: the import of numpy and the engine must not delay it.
        self.call_after_refresh(self.loader.open, request.spec, request.bug, request.dtype)

    def _catch_sigterm(self) -> None:
        """SIGTERM ends the app the way ``q`` does, so the terminal is restored; exit status 143."""
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.exit, None, SIGTERM_EXIT)
        except (NotImplementedError, RuntimeError, ValueError):
            return  # not the main thread, or no signals here: the default action stands
        self._sigterm_caught = True

    def exit(self, result: int | None = None, return_code: int = 0, message: object = None) -> None:
        """Answers from builds and checks still running are dropped from now on."""
        self.loader.close()
        super().exit(result, return_code, message)  # type: ignore[arg-type]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Once quitting, no key starts anything (a burst's later keys would open dialogs)."""
        return not self.loader.closed

    async def action_quit(self) -> None:
        """``q``: quit; with edits or bookmarks that no lesson file holds, ask first."""
        self.keeping.quit()

    def on_unmount(self) -> None:
        self.loader.close()
        display.set_digits(display.DIGITS)  # the next app (or test) starts from the default
        if self._sigterm_caught:
            asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)

    def _notice(self, message: str, severity: str, timeout: float) -> None:
        self.notify(message, severity=severity, timeout=timeout, markup=False)  # type: ignore[arg-type]

    def _push_styles(self) -> None:
        """The stylesheet's ``.bp--NAME`` rules as the Rich theme every view's text resolves."""
        self.console.push_theme(
            st.rich_theme(lambda name: self.get_component_styles(name).partial_rich_style)
        )

    def _restyle(self) -> None:
        """Another Textual theme: the named styles again, and every view drawn again with them."""
        self.console.pop_theme()
        self._push_styles()
        for screen in self.screen_stack:
            for widget in screen.walk_children(with_self=True):
                widget.notify_style_update()
                widget.refresh()
        self.model.changed(~Aspect.VIEW)

    def action_command_palette(self) -> None:
        """Textual's palette, guarded against two crashes of its own (``commands.Palette``)."""
        from tui_backprop.app.commands import Palette

        if self.use_command_palette and not Palette.is_open(self):
            self.push_screen(Palette(id="--command-palette"))

    # ------------------------------------------------------------ what the model asks of the App
    def _route(self, touched: Aspect) -> None:
        """Timers, the error screen and presenter mode follow the model."""
        if touched & Aspect.PLAY:
            if self.play_timer is not None:
                self.play_timer.stop()
                self.play_timer = None
            if self.model.playing:
                self.play_timer = self.set_interval(PACES[self.model.pace], self.trainer.tick)
        if self.loader.watcher is not None and self.watch_timer is None:
            self.watch_timer = self.set_interval(RELOAD_POLL, self.loader.poll)
        if touched & Aspect.FAILURE:
            self._show_failure()
        if touched & Aspect.VIEW:
            self._show_presenter()

    def _show_failure(self) -> None:
        from tui_backprop.app.screens.error import ErrorScreen

        failure = self.model.failure
        if failure is None:
            if isinstance(self.screen, ErrorScreen):
                self.screen.dismiss(None)
            return
        failed = self.model.failed
        spec = failed.spec if failed else "scenario"
        has_trace = self.model.session is not None
        refused = self.engine.refuses(spec)
        if isinstance(self.screen, ErrorScreen):
            self.screen.show(spec, failure, has_trace, refused=refused)
        else:
            screen = ErrorScreen(spec, failure, has_trace, guest=self.engine.guest(), refused=refused)
            self.push_screen(screen, callback=self._after_error)

    def _after_error(self, choice: str | None) -> None:
        if choice == "picker":
            self.action_open_picker()
        elif choice == "retry":
            self.loader.retry()

    def _show_presenter(self) -> None:
        from tui_backprop.app.presenter.screen import PresenterScreen

        shown = isinstance(self.screen, PresenterScreen)
        if self.model.presenting and not shown and self.model.session is not None:
            self.push_screen(PresenterScreen(self.model, self.quiz.on_card))
        elif not self.model.presenting and shown:
            self.screen.dismiss(None)

    # ------------------------------------------------------------ stepping keys
    def action_step(self, delta: int) -> None:
        if delta > 0 and self.quiz.reveal_on_card():  # quiz mode on the card: the answer first
            return
        self.stepper.step(delta)
        if delta < 0:
            self.quiz.reveal_on_card()  # stepping back: what was there is no question

    def action_continue_run(self, direction: int) -> None:
        self.stepper.continue_run(direction)

    def action_jump(self, where: str) -> None:
        self.stepper.jump(where)

    def action_toggle_breakpoint(self) -> None:
        self.stepper.toggle_breakpoint()

    def action_play(self) -> None:
        """Play the steps; with training's iterations on screen, play the iterations."""
        if not self.trainer.play():
            self.stepper.play()

    def action_pace(self, delta: int) -> None:
        self.stepper.pace(delta)

    # ------------------------------------------------------------ views
    def action_toggle_circuit(self) -> None:
        """The graph as a circuit above the inspector (again: back to the node list)."""
        self.model.set_view("debugger" if self.model.view == "circuit" else "circuit")

    def action_presenter(self) -> None:
        """The current step as one large, high-contrast card; Escape (or P) returns."""
        self.model.set_presenting(not self.model.presenting)

    def action_digits(self, delta: int) -> None:
        """Show more (or fewer) significant digits everywhere, 3 to 17."""
        now = self.model.set_digits(display.digits() + delta)
        self.notify(f"{now} significant digits", timeout=1.5)

    def action_toggle_spoilers(self) -> None:
        self.asking.show_all()

    def action_reveal_bug(self) -> None:
        self.asking.reveal_bug()

    def action_view_tensor(self) -> None:
        name = self.model.looked_at
        if self.model.session is None or name is None:
            return
        from tui_backprop.app.inspector.tensor_screen import TensorScreen, layers_for

        layers, comparison = layers_for(self.model.session, name)
        self.push_screen(TensorScreen(name, layers, comparison, self.model.element, self.elements.choose))

    def action_help(self) -> None:
        from tui_backprop.app.screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    # ------------------------------------------------------------ scenario and check
    def action_open_picker(self) -> None:
        from tui_backprop.app.screens.picker import PickerScreen

        if any(isinstance(s, PickerScreen) for s in self.screen_stack):
            return
        self.stepper.stop()
        session = self.model.session
        current = session.scenario.slug if session is not None else None
        picker = PickerScreen(
            self.engine.catalog,
            current,
            can_go_back=session is not None,
            mystery=self.model.secret,
            guest=self.engine.guest(),  # a served copy: no path box, the served file listed
            served=self.request.spec if self.request is not None else None,
        )
        self.push_screen(picker, callback=lambda spec: self.loader.open(spec) if spec else None)

    def action_choose_bug(self) -> None:
        session = self.model.session
        if session is None:
            return
        from tui_backprop.app.screens.choices import BugScreen

        def chosen(bug: str | None) -> None:
            if bug is not None:
                self.loader.set_bug(bug or None)

        self.push_screen(BugScreen(self.model.bugs(), session.bug), callback=chosen)

    def action_toggle_dtype(self) -> None:
        self.loader.toggle_dtype()

    def action_edit_settings(self) -> None:
        from tui_backprop.app.screens.choices import SettingsScreen

        session = self.model.session
        dtype = session.dtype if session else self.model.default_dtype
        screen = SettingsScreen(dtype, self.model.overrides, self.loader.default_settings())
        self.push_screen(screen, callback=self.loader.set_overrides)

    def action_rerun_check(self) -> None:
        self.loader.checker.start()

    # ------------------------------------------------------------ explore it live
    def action_edit_value(self) -> None:
        from tui_backprop.app.explore.screens import EditScreen
        from tui_backprop.app.explore.words import leaves_hint, prefill

        session = self.model.session
        name = self.editor.target()
        if session is None or name is None:
            return
        trace = session.trace
        line = prefill(trace, name, self.model.element(name))
        self.push_screen(EditScreen(line, leaves_hint(trace), self.editor.try_edit))

    def action_nudge(self) -> None:
        from tui_backprop.app.explore.screens import NudgeScreen
        from tui_backprop.app.explore.words import nudge_words

        first = self.editor.first_nudge()
        if first is None:
            return

        answer = nudge_words(self.editor.try_nudge(first), self.editor.seen_at())
        if isinstance(answer, str):
            self.notify(answer, severity="error", timeout=5)
            return

        def again(text: str) -> tuple[Text, Text] | str:
            return nudge_words(self.editor.try_nudge(text), self.editor.seen_at())

        self.push_screen(NudgeScreen(*answer, first, again))

    def action_move_element(self, rows: int, cols: int) -> None:
        self.elements.move(rows, cols)

    def action_follow_element(self) -> None:
        self.asking.follow()

    def action_train(self) -> None:
        self.asking.train()

    def action_learning_rate(self) -> None:
        self.asking.learning_rate()

    def action_iteration(self, delta: int) -> None:
        self.trainer.go(delta)

    def action_undo_edit(self) -> None:
        self.editor.undo()

    def action_step_size_explorer(self) -> None:
        if self.model.session is not None:
            self.spawn(self._explore_step_size, "sweep")

    async def _explore_step_size(self) -> None:
        from functools import partial

        from tui_backprop.app.explore.screens import StepSizeScreen
        from tui_backprop.app.explore.stepsize_words import explorer_lines

        result = await self.step_sizes.sweep()
        if result is not None and not self.loader.closed:
            self.push_screen(StepSizeScreen(partial(explorer_lines, result.sweep, result.eps)))

    def action_toggle_quiz(self) -> None:
        self.quiz.toggle()

    # ------------------------------------------------------------ bookmarks and lessons
    def action_toggle_bookmark(self) -> None:
        self.keeping.bookmark()

    def action_next_bookmark(self, direction: int) -> None:
        self.lessons.next_bookmark(direction)

    def action_save_lesson(self) -> None:
        self.keeping.save_lesson()

    def action_save_handout(self) -> None:
        self.keeping.save_handout()


def make_app(
    scenario: str | None = None,
    bug: str | None = None,
    dtype: str | None = None,
    *,
    engine: Engine | None = None,
    overrides: Overrides | None = None,
    quiz: bool = False,
    mystery: bool = False,
) -> BackpropApp:
    """The app for ``main()`` and the tests; over a lesson ``.toml``, ``bug`` and ``dtype`` if given."""
    lesson = scenario is not None and scenario.endswith(".toml")
    request = Request(scenario, bug, dtype if lesson else dtype or "float64") if scenario else None
    return BackpropApp(
        request, engine=engine, overrides=overrides, dtype=dtype or "float64", quiz=quiz, mystery=mystery
    )


def main(
    scenario: str | None,
    bug: str | None,
    dtype: str | None,
    quiz: bool = False,
    loader: Callable[[str], Scenario] | None = None,
    mystery: bool = False,
) -> int:
    """Run the app until the user quits; the CLI's entry point (``loader``: see ``Engine.loader``;
    ``mystery``: README, mystery-bug mode)."""
    app = make_app(scenario, bug, dtype, quiz=quiz, engine=Engine(loader), mystery=mystery)
    app.run()
    return app.return_code or 0
