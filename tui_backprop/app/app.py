"""The Textual app: a node list, an inspector and a status line over one scenario's trace.

It renders the engine's trace and check and computes nothing of its own. The app is handed an
``Engine`` and a ``Request`` (memray's habit); ``make_app`` builds it for ``main()`` and for the
tests alike. Its parts, by concern: ``loading.py`` (opening scenarios, live reload and the check,
in worker threads), ``stepping.py`` (moving through the trace), and here the drawing and the
screens it opens. The screens and the palette never import this module: they answer with the
value they dismiss with, or call the ``Host`` protocol (``host.py``).
"""

from __future__ import annotations

import asyncio
import signal
from collections import OrderedDict
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.text import Text
from textual import on
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer

from tui_backprop.app import digits, keys
from tui_backprop.app.commands import BackpropCommands, Palette
from tui_backprop.app.engine import DTYPES, Engine, Overrides
from tui_backprop.app.explore import ExploreMixin
from tui_backprop.app.explore_screens import QuizBar
from tui_backprop.app.lessons import LessonMixin
from tui_backprop.app.loading import LoadingMixin, Request
from tui_backprop.app.stepping import PACES, SteppingMixin
from tui_backprop.app.teaching import TeachingMixin
from tui_backprop.app.widgets import NodeList, StatusBar, TextView

if TYPE_CHECKING:
    from collections.abc import Callable

    from tui_backprop.app.session import Session
    from tui_backprop.core.filewatch import FileWatcher
    from tui_backprop.core.scenarios import Scenario

SIGTERM_EXIT = 128 + signal.SIGTERM
"""The shell's status for a process ended by SIGTERM."""

__all__ = ["BackpropApp", "DebuggerScreen", "Request", "main", "make_app"]


# ---------------------------------------------------------------- the stepping screen
class DebuggerScreen(Screen):
    """Node list on the left, inspector on the right, status line and keys below."""

    BINDINGS = keys.DEBUGGER
    AUTO_FOCUS = "#nodes"

    def compose(self) -> ComposeResult:
        from tui_backprop.app.circuit import CircuitView

        yield CircuitView(id="circuit")
        with Horizontal(id="main"):
            yield NodeList(id="nodes")
            yield TextView(Text("starting…", style="italic"), id="inspector")
        yield QuizBar(id="quiz")
        yield StatusBar(id="status")
        yield Footer(compact=True, id="footer")

    @on(NodeList.Highlighted)
    def _peek(self, event: NodeList.Highlighted) -> None:
        self.app.peek(event.name)  # type: ignore[attr-defined]

    @on(NodeList.Selected)
    def _select(self, event: NodeList.Selected) -> None:
        self.app.select_node(event.name)  # type: ignore[attr-defined]

    def on_circuit_view_selected(self, event) -> None:
        self.app.select_node(event.name)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the app
class BackpropApp(TeachingMixin, ExploreMixin, LessonMixin, LoadingMixin, SteppingMixin, App[int]):
    """Steps through a trace; every number it shows comes from the engine."""

    CSS_PATH = Path(__file__).with_name("app.tcss")
    """Absolute, so subclasses defined elsewhere (tests, benchmarks) find it too."""
    TITLE = "backprop-tui"
    BINDINGS = keys.GLOBAL
    COMMANDS = App.COMMANDS | {BackpropCommands}
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-tiny"), (60, "-narrow"), (100, "-wide")]
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-short"), (16, "-tall")]

    def __init__(
        self,
        request: Request | None,
        engine: Engine | None = None,
        overrides: Overrides | None = None,
        dtype: str = "float64",
        quiz: bool = False,
    ) -> None:
        super().__init__()
        self.init_explore()
        self.start_quiz = quiz
        digits.set_digits(digits.DIGITS)  # a fresh app shows the default digits
        self.request = request
        self.engine = engine or Engine()
        self.overrides = overrides or Overrides()
        self.default_dtype = request.dtype if request else dtype
        self.session: Session | None = None
        self.loaded: Request | None = None
        """The request the current session came from (what a bug or dtype switch reopens)."""
        self.inspected: str | None = None
        """The node the list cursor peeks at; None follows the current step's node."""
        self.loading: Request | None = None
        self.load_ticket = 0
        self.generation = 0
        self.progress: tuple[int, int] | None = None
        self.playing: Timer | None = None
        self._failed: Request | None = None
        self.pace = PACES.index(1.0)
        self._catalog: list[tuple[str, str]] | None = None
        self._inspector_cache: OrderedDict[tuple, Text] = OrderedDict()
        self._refresh_pending = False
        self.watcher: FileWatcher | None = None
        """The user's scenario files, polled for saves (None for built-ins)."""
        self._watch_timer: Timer | None = None

    # ------------------------------------------------------------ startup
    def get_default_screen(self) -> Screen:
        return DebuggerScreen(id="_default")

    def on_mount(self) -> None:
        self._catch_sigterm()
        if self.start_quiz:
            self.call_after_refresh(self.set_quiz, True)
        if self.request is not None:
            self.loading = self.request
            self.load_ticket += 1
            self.refresh_view()
            # After the first frame: the import of numpy and the engine must not delay it.
            self.call_after_refresh(self._load, self.request, self.load_ticket, False)
        else:
            self.refresh_view()
            self.action_open_picker()

    def _catch_sigterm(self) -> None:
        """SIGTERM ends the app the way ``q`` does, so the terminal is restored; exit status 143."""
        try:
            asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, self.exit, None, SIGTERM_EXIT)
        except (NotImplementedError, RuntimeError, ValueError):
            return  # not the main thread, or no signals here: the default action stands
        self._sigterm_caught = True

    def on_unmount(self) -> None:
        if getattr(self, "_sigterm_caught", False):
            asyncio.get_running_loop().remove_signal_handler(signal.SIGTERM)

    def action_command_palette(self) -> None:
        """Textual's palette, guarded against two crashes of its own (``commands.Palette``)."""
        if self.use_command_palette and not Palette.is_open(self):
            self.push_screen(Palette(id="--command-palette"))

    @property
    def debugger(self) -> DebuggerScreen:
        return self.screen_stack[0]  # type: ignore[return-value]

    def on_resize(self) -> None:
        # The status line picks its full or compact form by width (the inspector sees to itself).
        self.call_after_refresh(self.refresh_view)

    # ------------------------------------------------------------ drawing
    def _show_rows(self) -> None:
        from tui_backprop.app import views

        session = self.session
        assert session is not None
        columns: dict[tuple[int, str], list[views.Column]] = {}

        def columns_at(width: int, phase: str = "backward") -> list[views.Column]:
            if (width, phase) not in columns:
                columns[width, phase] = views.columns_for(session, width, phase)
            return columns[width, phase]

        nodes = self.debugger.query_one(NodeList)
        natural = sum(c.width + 1 for c in columns_at(10_000)) + 1
        nodes.natural_width = natural
        nodes.show(
            session.node_names,
            session.rows(),
            lambda state, width: views.node_row(session, state, columns_at(width, state.phase)),
            lambda width: views.header_row(columns_at(width, session.phase)),
            cursor=session.node_names.index(session.node_name),
            header_key=session.phase,
        )
        nodes.refresh(layout=True)

    def refresh_view(self) -> None:
        """Bring the list, the inspector and the status line up to the session's state."""
        if self.exiting:
            return
        debugger = self.debugger
        if not debugger.is_mounted:
            return
        session = self.session
        status = debugger.query_one(StatusBar)
        inspector = debugger.query_one(TextView)
        if session is None:
            # No numpy yet: the first frame is drawn before the engine is imported.
            status.set_text(Text(f" {self._title()} ", style="bold"))
            inspector.set_text(self._placeholder())
            return
        from tui_backprop.app import views  # cached: the load worker imported it

        session.show_all = self.show_all_checks

        line = views.status_line(
            session, self._title(), self.progress, self._status_extra(), status.size.width
        )
        status.set_text(line)
        nodes = debugger.query_one(NodeList)
        nodes.update_states(session.rows(), session.phase)
        name = self.inspected or session.node_name
        nodes.move_cursor(session.node_names.index(name))
        inspector.set_content(partial(self._inspector_text, session, name), (id(session), name, session.step))
        self.refresh_quiz()
        self.refresh_teaching()

    def _inspector_text(self, session: Session, name: str, width: int) -> Text:
        """The inspector for ``name`` at the session's current step, laid out for ``width``; cached."""
        from tui_backprop.app import views

        width = width if width > 0 else 60
        key = (
            id(session),
            name,
            session.step,
            width,
            session.n_checked,
            session.check_complete,
            session.show_all,
        )
        text = self._inspector_cache.get(key)
        if text is None:
            text = views.inspector(session, name, width)
            self._inspector_cache[key] = text
            if len(self._inspector_cache) > 256:
                self._inspector_cache.popitem(last=False)
        return text

    def _title(self) -> str:
        if self.session is not None:
            return self.session.scenario.slug
        if self.loading is not None:
            return f"loading {self.loading.spec}…"
        return "backprop-tui"

    def _status_extra(self) -> str:
        parts = []
        if self.playing is not None:
            parts.append(f"▶ playing {PACES[self.pace]:g}s/step")
        if self.loading is not None and self.session is not None:
            parts.append(f"loading {self.loading.spec}…")
        parts += self.explore_status()
        return "  ".join(parts)

    def _placeholder(self) -> Text:
        text = Text()
        if self.loading is not None:
            text.append(f"loading {self.loading.spec}…", style="italic")
        else:
            text.append("No scenario open. ", style="bold")
            text.append("Press o to pick one, ? for help, q to quit.")
        return text

    # ------------------------------------------------------------ screens
    def action_open_picker(self) -> None:
        from tui_backprop.app.screens import PickerScreen

        if any(isinstance(s, PickerScreen) for s in self.screen_stack):
            return
        self._stop_playing()
        current = self.session.scenario.slug if self.session is not None else None
        picker = PickerScreen(self.engine.catalog, current, can_go_back=self.session is not None)
        self.push_screen(picker, callback=self._picked)

    def _picked(self, spec: str | None) -> None:
        if spec:
            self.open_scenario(spec)

    def action_help(self) -> None:
        from tui_backprop.app.screens import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen())

    def action_view_tensor(self) -> None:
        session = self.session
        if session is None:
            return
        from tui_backprop.app.tensorview import TensorScreen, layers_for

        name = self.inspected or session.node_name
        layers, comparison = layers_for(session, name)
        self.push_screen(TensorScreen(name, layers, comparison))

    def action_choose_bug(self) -> None:
        session = self.session
        if session is None:
            return
        from tui_backprop.app.screens import BugScreen

        self.push_screen(BugScreen(session.scenario.bugs, session.bug), callback=self._bug_chosen)

    def _bug_chosen(self, bug: str | None) -> None:
        if bug is not None:
            self.set_bug(bug or None)

    def set_bug(self, bug: str | None) -> None:
        """Rebuild the scenario with a named bug on (or none), staying on the same node."""
        if self.loaded is not None:
            self.open_scenario(self.loaded.spec, bug, self.loaded.dtype, keep_position=True)

    def set_dtype(self, dtype: str) -> None:
        if dtype in DTYPES and self.loaded is not None:
            self.open_scenario(self.loaded.spec, self.loaded.bug, dtype, keep_position=True)

    def action_toggle_dtype(self) -> None:
        if self.loaded is not None:
            self.set_dtype("float32" if self.loaded.dtype == "float64" else "float64")

    def action_edit_settings(self) -> None:
        from tui_backprop.app.screens import SettingsScreen

        dtype = self.session.dtype if self.session else self.default_dtype
        defaults = self.engine.settings(dtype, Overrides())
        values = {"eps": defaults.eps, "rtol": defaults.rtol, "atol": defaults.atol}
        self.push_screen(SettingsScreen(dtype, self.overrides, values), callback=self.set_overrides)

    def set_overrides(self, overrides: Overrides | None) -> None:
        """New eps / tolerances (None: the dtype's defaults) and a fresh check."""
        self.overrides = overrides if overrides is not None else Overrides()
        session = self.session
        if session is not None:
            session.settings = self.engine.settings(session.dtype, self.overrides)
            self.start_check()

    def set_setting(self, field: str, value: float) -> None:
        self.set_overrides(replace(self.overrides, **{field: value}))

    def action_rerun_check(self) -> None:
        self.start_check()


def make_app(
    scenario: str | None = None,
    bug: str | None = None,
    dtype: str = "float64",
    *,
    engine: Engine | None = None,
    overrides: Overrides | None = None,
    quiz: bool = False,
) -> BackpropApp:
    """The app for ``main()`` and for the tests alike (``scenario`` may be a lesson ``.toml``)."""
    request = Request(scenario, bug, dtype) if scenario else None
    return BackpropApp(request, engine=engine, overrides=overrides, dtype=dtype, quiz=quiz)


def main(
    scenario: str | None,
    bug: str | None,
    dtype: str,
    quiz: bool = False,
    loader: Callable[[str], Scenario] | None = None,
    mystery: bool = False,
) -> int:
    """Run the app until the user quits; the CLI's entry point (``loader``: see ``Engine.loader``;
    ``mystery``: README, mystery-bug mode)."""
    app = make_app(scenario, bug, dtype, quiz=quiz, engine=Engine(loader))
    app.mystery = mystery
    app.run()
    return app.return_code or 0
