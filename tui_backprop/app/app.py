"""The Textual app: a node list, an inspector and a status line over one scenario's trace.

It renders the engine's trace and check and computes nothing of its own. The app is handed an
``Engine`` and a ``Request`` (memray's habit); ``make_app`` builds it for ``main()`` and for the
tests alike. Loading (which imports the engine) and the numeric check both run in worker
threads, so the first frame does not wait for the engine and the UI never waits for the check.

Live reload: while a user's scenario file is open, its files (and the modules beside it that it
imports) are polled; a save reopens it with ``open_scenario(..., keep_position=True)``.
``load_trace`` replaces the trace with the rebuilt one, keeping the current node and phase when
they still exist, and ``show_error`` shows a broken save while keeping the last good trace.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on, work
from textual.app import App, ComposeResult
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer
from textual.worker import get_current_worker

from tui_backprop.app import keys
from tui_backprop.app.commands import BackpropCommands
from tui_backprop.app.engine import DTYPES, Engine, Failure, Overrides
from tui_backprop.app.widgets import NodeList, StatusBar, TextView

if TYPE_CHECKING:
    from tui_backprop.app.session import Session
    from tui_backprop.gradcheck import NodeCheck
    from tui_backprop.reload import FileWatcher
    from tui_backprop.scenarios import Scenario
    from tui_backprop.trace import Trace

PACES = (0.25, 0.5, 1.0, 2.0)
"""Seconds per step while playing."""
RELOAD_POLL = 0.4
"""Seconds between checks of the user's scenario files for a save."""


@dataclass(frozen=True)
class Request:
    """What to open: a slug or a path, a bug, a dtype."""

    spec: str
    bug: str | None = None
    dtype: str = "float64"


# ---------------------------------------------------------------- messages from the workers
class TraceLoaded(Message):
    def __init__(self, request: Request, scenario: Scenario, trace: Trace, keep_position: bool) -> None:
        super().__init__()
        self.request, self.scenario, self.trace, self.keep_position = request, scenario, trace, keep_position


class LoadFailed(Message):
    def __init__(self, request: Request, failure: Failure) -> None:
        super().__init__()
        self.request, self.failure = request, failure


class CheckProgress(Message):
    def __init__(self, generation: int, check: NodeCheck) -> None:
        super().__init__()
        self.generation, self.check = generation, check


class CheckDone(Message):
    def __init__(self, generation: int, error: str | None = None) -> None:
        super().__init__()
        self.generation, self.error = generation, error


# ---------------------------------------------------------------- the stepping screen
class DebuggerScreen(Screen):
    """Node list on the left, inspector on the right, status line and keys below."""

    BINDINGS = keys.DEBUGGER
    AUTO_FOCUS = "#nodes"

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            yield NodeList(id="nodes")
            yield TextView(Text("starting…", style="italic"), id="inspector")
        yield StatusBar(id="status")
        yield Footer(compact=True, id="footer")

    @on(NodeList.Highlighted)
    def _peek(self, event: NodeList.Highlighted) -> None:
        self.app.peek(event.name)  # type: ignore[attr-defined]

    @on(NodeList.Selected)
    def _select(self, event: NodeList.Selected) -> None:
        self.app.select_node(event.name)  # type: ignore[attr-defined]


# ---------------------------------------------------------------- the app
class BackpropApp(App[int]):
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
    ) -> None:
        super().__init__()
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
        if self.request is not None:
            self.loading = self.request
            self.refresh_view()
            # After the first frame: the import of numpy and the engine must not delay it.
            self.call_after_refresh(self._load, self.request, False)
        else:
            self.refresh_view()
            self.action_open_picker()

    @property
    def debugger(self) -> DebuggerScreen:
        return self.screen_stack[0]  # type: ignore[return-value]

    # ------------------------------------------------------------ opening scenarios
    def open_scenario(
        self, spec: str, bug: str | None = None, dtype: str | None = None, *, keep_position: bool = False
    ) -> None:
        """Load, trace and show a scenario in the background; on failure show the error screen."""
        request = Request(spec, bug, dtype or self.default_dtype)
        self.loading = request
        self._stop_playing()
        self.refresh_view()
        self._load(request, keep_position)

    @work(thread=True, exclusive=True, group="load", exit_on_error=False)
    def _load(self, request: Request, keep_position: bool) -> None:
        worker = get_current_worker()
        try:
            scenario, trace = self.engine.open(request.spec, request.bug, request.dtype)
            self.engine.warm_up()
        except Exception as exc:  # the author's file: anything can go wrong, nothing may crash us
            from tui_backprop.app.engine import failure_of

            if not worker.is_cancelled:
                self.post_message(LoadFailed(request, failure_of(exc)))
            return
        if not worker.is_cancelled:
            self.post_message(TraceLoaded(request, scenario, trace, keep_position))

    def on_trace_loaded(self, message: TraceLoaded) -> None:
        if message.request != self.loading:
            return
        self.loading = None
        request = message.request
        self.load_trace(
            message.scenario,
            message.trace,
            request.bug,
            request.dtype,
            keep_position=message.keep_position,
            request=request,
        )

    def on_load_failed(self, message: LoadFailed) -> None:
        if message.request != self.loading:
            return
        self.loading = None
        self.show_error(message.failure, message.request)

    def load_trace(
        self,
        scenario: Scenario,
        trace: Trace,
        bug: str | None,
        dtype: str,
        *,
        keep_position: bool = True,
        request: Request | None = None,
    ) -> None:
        """Show a freshly built trace; keep the current node and phase if they still exist.

        The reload hook: call it (on the app's thread) with the rebuilt scenario. Breakpoints on
        nodes that still exist are kept; the numeric check starts again in the background.
        """
        from tui_backprop.app.session import Session

        settings = self.engine.settings(dtype, self.overrides)
        new = Session(scenario, bug, dtype, trace, settings)
        old = self.session
        if keep_position and old is not None:
            old.place_in(new)
        self.session = new
        self.loaded = request or Request(scenario.spec, bug, dtype)
        self.default_dtype = dtype
        self.inspected = None
        self._inspector_cache.clear()
        self._stop_playing()
        debugger = self.debugger
        debugger.query_one(TextView).forget()
        self._show_rows()
        self._close_error()
        self._watch(scenario)
        self.start_check()

    # ------------------------------------------------------------ live reload
    def _watch(self, scenario: Scenario) -> None:
        """Poll a user's scenario files, so that saving one rebuilds the graph in place."""
        if scenario.kind != "file":
            self.watcher = None
            return
        self._watch_files(self.engine.source_files(scenario))

    def _watch_files(self, files: list[Path]) -> None:
        from tui_backprop.reload import FileWatcher

        if self.watcher is None:
            self.watcher = FileWatcher(files)
        else:
            self.watcher.watch(files)
        if self._watch_timer is None:
            self._watch_timer = self.set_interval(RELOAD_POLL, self.reload_if_saved)

    def reload_if_saved(self) -> bool:
        """Reopen the scenario if one of its files changed since the last look; True if so.

        A broken save shows the error and keeps the last good trace on screen; the next good
        save closes the error and returns to the same node and phase.
        """
        target = self.loaded or self._failed
        if self.watcher is None or target is None or self.loading is not None:
            return False
        if not self.watcher.poll():
            return False
        self.notify(f"reloading {Path(target.spec).name}", timeout=2)
        self.open_scenario(target.spec, target.bug, target.dtype, keep_position=True)
        return True

    def show_error(self, failure: Failure | BaseException, request: Request | None = None) -> None:
        """Show why a scenario could not be opened (file:line and the code there); keep the last trace.

        ``failure`` may be the engine's ``ScenarioError`` (or any exception) as well as a ``Failure``.
        """
        from tui_backprop.app.screens import ErrorScreen

        if isinstance(failure, BaseException):
            from tui_backprop.app.engine import failure_of

            failure = failure_of(failure)
        spec = request.spec if request else "scenario"
        self._failed = request
        if self.session is None and request is not None and spec.endswith(".py"):
            self._watch_files([Path(spec)])  # a file that never ran: load it once it is fixed
        has_trace = self.session is not None
        if isinstance(self.screen, ErrorScreen):
            self.screen.show(spec, failure, has_trace)
        else:
            self.push_screen(ErrorScreen(spec, failure, has_trace), callback=self._after_error)
        self.refresh_view()

    def _after_error(self, choice: str | None) -> None:
        if choice == "picker":
            self.action_open_picker()
        elif choice == "retry" and self._failed is not None:
            failed = self._failed
            self.open_scenario(failed.spec, failed.bug, failed.dtype, keep_position=True)

    def _close_error(self) -> None:
        from tui_backprop.app.screens import ErrorScreen

        if isinstance(self.screen, ErrorScreen):
            self.screen.dismiss(None)

    def catalog_names(self) -> list[tuple[str, str]]:
        """(slug, title) of every scenario, for the palette; loaded once."""
        if self._catalog is None:
            try:
                self._catalog = [(s.slug, s.title) for s in self.engine.catalog()]
            except Exception:
                self._catalog = []
        return self._catalog

    # ------------------------------------------------------------ the check
    def start_check(self) -> None:
        """Check the current trace in a worker; a newer request cancels an older one."""
        session = self.session
        if session is None:
            return
        self.generation += 1
        session.checks = {}
        session.check_complete = False
        self.progress = (0, len(session.trace.graph.nodes))
        self._inspector_cache.clear()
        self.refresh_view()
        self._check(session.trace, session.settings, self.generation)

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def _check(self, trace: Trace, settings: Any, generation: int) -> None:
        worker = get_current_worker()
        try:
            for node_check in self.engine.check(trace, settings):
                if worker.is_cancelled:
                    return
                self.post_message(CheckProgress(generation, node_check))
        except Exception as exc:  # a check that dies must say so, not take the app with it
            if not worker.is_cancelled:
                self.post_message(CheckDone(generation, f"{type(exc).__name__}: {exc}"))
            return
        if not worker.is_cancelled:
            self.post_message(CheckDone(generation))

    def on_resize(self) -> None:
        # The status line picks its full or compact form by width (the inspector sees to itself).
        self.call_after_refresh(self.refresh_view)

    def on_check_progress(self, message: CheckProgress) -> None:
        session = self.session
        if session is None or message.generation != self.generation:
            return
        session.record(message.check)
        self.progress = (session.n_checked, len(session.trace.graph.nodes))
        self._schedule_refresh()

    def on_check_done(self, message: CheckDone) -> None:
        session = self.session
        if session is None or message.generation != self.generation:
            return
        session.check_complete = True
        self.progress = None
        if message.error:
            self.notify(f"the check stopped: {message.error}", severity="error", timeout=8)
        self.refresh_view()

    def _schedule_refresh(self) -> None:
        """Coalesce a burst of check results into one repaint."""
        if not self._refresh_pending:
            self._refresh_pending = True
            self.call_later(self._flush_refresh)

    def _flush_refresh(self) -> None:
        self._refresh_pending = False
        self.refresh_view()

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

        line = views.status_line(
            session, self._title(), self.progress, self._status_extra(), status.size.width
        )
        status.set_text(line)
        nodes = debugger.query_one(NodeList)
        nodes.update_states(session.rows(), session.phase)
        name = self.inspected or session.node_name
        nodes.move_cursor(session.node_names.index(name))
        inspector.set_content(partial(self._inspector_text, session, name), (id(session), name, session.step))

    def _inspector_text(self, session: Session, name: str, width: int) -> Text:
        """The inspector for ``name`` at the session's current step, laid out for ``width``; cached."""
        from tui_backprop.app import views

        width = width if width > 0 else 60
        key = (id(session), name, session.step, width, session.n_checked, session.check_complete)
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
        return "  ".join(parts)

    def _placeholder(self) -> Text:
        text = Text()
        if self.loading is not None:
            text.append(f"loading {self.loading.spec}…", style="italic")
        else:
            text.append("No scenario open. ", style="bold")
            text.append("Press o to pick one, ? for help, q to quit.")
        return text

    # ------------------------------------------------------------ moving around
    def go(self, step: int) -> bool:
        """Move to a step and repaint; the list cursor goes back to the step's node."""
        session = self.session
        if session is None:
            return False
        changed = session.go(step)
        if changed or self.inspected is not None:
            self.inspected = None
            self.refresh_view()
        return changed

    def action_step(self, delta: int) -> None:
        if self.session is not None:
            self.go(self.session.step + delta)

    def action_continue_run(self, direction: int) -> None:
        session = self.session
        if session is None:
            return
        target = session.continue_target(direction)
        if target is None:
            pending = "" if session.check_complete else " (the check is still running)"
            where = "end" if direction > 0 else "start"
            self.notify(f"no breakpoint or mismatch before the {where}{pending}", timeout=3)
            target = session.backward_end if direction > 0 else session.forward_start
        self.go(target)

    def action_jump(self, where: str) -> None:
        if self.session is not None and where in (
            "forward_start",
            "forward_end",
            "backward_start",
            "backward_end",
        ):
            self.go(getattr(self.session, where))

    def action_toggle_breakpoint(self) -> None:
        session = self.session
        if session is None:
            return
        name = self.inspected or session.node_name
        if session.step_of(name, "forward") is None:
            self.notify(f"{name} is a leaf: it has no step to stop at", timeout=3)
            return
        on = session.toggle_breakpoint(name)
        self.notify(f"breakpoint {'set on' if on else 'cleared from'} {name}", timeout=2)
        self.refresh_view()

    def peek(self, name: str) -> None:
        """The list cursor moved: show that node at the current step, without stepping."""
        session = self.session
        if session is None:
            return
        self.inspected = None if name == session.node_name else name
        self.refresh_view()

    def select_node(self, name: str) -> None:
        """Jump to the node's step in this phase (again: the other phase); leaves are peeked at."""
        session = self.session
        if session is None:
            return
        target = session.select_target(name)
        if target is None:
            self.peek(name)
            return
        session.go(target)
        self.inspected = None
        self.refresh_view()

    # ------------------------------------------------------------ playing
    def action_play(self) -> None:
        if self.playing is not None:
            self._stop_playing()
        elif self.session is not None:
            if self.session.step >= self.session.n_steps - 1:
                self.go(0)
            self.playing = self.set_interval(PACES[self.pace], self._tick)
        self.refresh_view()

    def action_pace(self, delta: int) -> None:
        self.pace = max(0, min(len(PACES) - 1, self.pace + delta))
        if self.playing is not None:
            self.playing.stop()
            self.playing = self.set_interval(PACES[self.pace], self._tick)
        self.notify(f"{PACES[self.pace]:g} s per step", timeout=1.5)
        self.refresh_view()

    def _tick(self) -> None:
        session = self.session
        if self.playing is None:
            return
        if session is None or session.step >= session.n_steps - 1:
            self._stop_playing()
            self.refresh_view()
            return
        self.go(session.step + 1)
        current = session.current
        if current is not None and current.node in session.breakpoints:
            self._stop_playing()
            self.refresh_view()

    def _stop_playing(self) -> None:
        if self.playing is not None:
            self.playing.stop()
            self.playing = None

    # ------------------------------------------------------------ screens
    def action_open_picker(self) -> None:
        from tui_backprop.app.screens import PickerScreen

        if any(isinstance(s, PickerScreen) for s in self.screen_stack):
            return
        self._stop_playing()
        self.push_screen(PickerScreen(), callback=self._picked)

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
) -> BackpropApp:
    """The app for ``main()`` and for the tests alike."""
    request = Request(scenario, bug, dtype) if scenario else None
    return BackpropApp(request, engine=engine, overrides=overrides, dtype=dtype)


def main(scenario: str | None, bug: str | None, dtype: str) -> int:
    """Run the app until the user quits; the CLI's entry point."""
    app = make_app(scenario, bug, dtype)
    app.run()
    return app.return_code or 0
