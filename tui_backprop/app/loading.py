"""Opening scenarios, live reload and the numeric check: the app's background work and its answers.

``LoadingMixin`` is part of ``BackpropApp``. Loading (which imports the engine) and the check run
in worker threads and answer with the messages below; a message for a request or a check
generation that is no longer current is dropped, so a late answer never overwrites a newer one.

Live reload: while a user's scenario file is open, its files (and the modules beside it that it
imports) are polled; a save reopens it with ``open_scenario(..., keep_position=True)``.
``load_trace`` replaces the trace with the rebuilt one, keeping the current node and phase when
they still exist, and ``show_error`` shows a broken save while keeping the last good trace.
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.message import Message
from textual.timer import Timer

from tui_backprop.app.daemon import run_in_daemon
from tui_backprop.app.engine import Engine, Failure, Overrides
from tui_backprop.app.widgets import TextView

if TYPE_CHECKING:
    from tui_backprop.app.session import Session
    from tui_backprop.check.gradcheck import NodeCheck
    from tui_backprop.core.filewatch import FileWatcher
    from tui_backprop.core.scenarios import Scenario
    from tui_backprop.core.trace import Trace
    from tui_backprop.teach.lesson import Lesson

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
    def __init__(
        self,
        ticket: int,
        request: Request,
        scenario: Scenario,
        trace: Trace,
        keep_position: bool,
        lesson: Lesson | None = None,
    ) -> None:
        super().__init__()
        self.ticket, self.request, self.scenario, self.trace = ticket, request, scenario, trace
        self.keep_position = keep_position
        self.lesson = lesson


class LoadFailed(Message):
    def __init__(self, ticket: int, request: Request, failure: Failure) -> None:
        super().__init__()
        self.ticket, self.request, self.failure = ticket, request, failure


class CheckProgress(Message):
    def __init__(self, generation: int, check: NodeCheck) -> None:
        super().__init__()
        self.generation, self.check = generation, check


class CheckDone(Message):
    def __init__(self, generation: int, error: str | None = None) -> None:
        super().__init__()
        self.generation, self.error = generation, error


class LoadingMixin:
    """Opens scenarios, watches their files and checks their traces, all off the UI thread."""

    engine: Engine
    overrides: Overrides
    default_dtype: str
    session: Session | None
    loaded: Request | None
    loading: Request | None
    """The request being loaded; None when no load is under way."""
    load_ticket: int
    """Numbers each load: only the newest one's answer is shown (a stuck build is superseded)."""
    generation: int
    progress: tuple[int, int] | None
    watcher: FileWatcher | None
    _failed: Request | None
    _catalog: list[tuple[str, str]] | None
    _inspector_cache: OrderedDict[tuple, Text]
    _refresh_pending: bool
    _watch_timer: Timer | None

    # ------------------------------------------------------------ opening scenarios
    def open_scenario(
        self, spec: str, bug: str | None = None, dtype: str | None = None, *, keep_position: bool = False
    ) -> None:
        """Load, trace and show a scenario in the background; on failure show the error screen."""
        request = Request(spec, bug, dtype or self.default_dtype)
        self.loading = request
        self.load_ticket += 1
        self._stop_playing()
        self.refresh_view()
        self._load(request, self.load_ticket, keep_position)

    @work(exclusive=True, group="load", exit_on_error=False)
    async def _load(self, request: Request, ticket: int, keep_position: bool) -> None:
        """Build in a daemon thread; a newer load cancels this worker and abandons a stuck build."""

        def build() -> tuple[Lesson | None, Scenario, Trace]:
            if request.spec.endswith(".toml"):  # a lesson file (README "Lesson files")
                opened = self.engine.open_lesson(request.spec)
            else:
                opened = (None, *self.engine.open(request.spec, request.bug, request.dtype))
            self.engine.warm_up()
            return opened

        outcome = await run_in_daemon(f"backprop-load-{ticket}", build)
        if outcome.error is not None:  # the author's file: anything, sys.exit() included
            from tui_backprop.app.engine import failure_of

            self.post_message(LoadFailed(ticket, request, failure_of(outcome.error)))
        elif outcome.value is not None:
            lesson, scenario, trace = outcome.value
            self.post_message(TraceLoaded(ticket, request, scenario, trace, keep_position, lesson))

    def on_trace_loaded(self, message: TraceLoaded) -> None:
        if message.ticket != self.load_ticket or self.loading is None or self.exiting:
            return
        self.loading = None
        request = message.request
        lesson = message.lesson
        if lesson is not None:  # from here on it is its scenario, with the lesson's values
            self.apply_lesson(lesson)
            request = Request(message.scenario.spec, lesson.bug, lesson.dtype)
        self.load_trace(
            message.scenario,
            message.trace,
            request.bug,
            request.dtype,
            keep_position=message.keep_position and lesson is None,
            request=request,
        )
        if lesson is not None and lesson.start is not None:
            self.go(lesson.start)

    def on_load_failed(self, message: LoadFailed) -> None:
        if message.ticket != self.load_ticket or self.loading is None or self.exiting:
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

        trace = self.with_edits(trace)
        settings = self.engine.settings(dtype, self.overrides)
        new = Session(scenario, bug, dtype, trace, settings)
        old = self.session
        if keep_position and old is not None:
            old.place_in(new)
        self.session = new
        # Step numbers of another trace (a switched scenario, a rebuilt graph) may not exist here.
        marks = getattr(self, "bookmarks", [])
        self.bookmarks = [b for b in marks if b.step < new.n_steps]
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
        from tui_backprop.core.filewatch import FileWatcher

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
        target = self.loading or self.loaded or self._failed
        if self.watcher is None or target is None or self.exiting:
            return False
        if not self.watcher.poll():
            return False
        # A save while a build is still running (or stuck) starts a newer build that supersedes it.
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
        if self.exiting:
            return
        spec = request.spec if request else "scenario"
        self._failed = request
        if self.session is None and request is not None and spec.endswith((".py", ".toml")):
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
            except BaseException:  # a plugin's import may even call sys.exit()
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
        session.check_error = None
        self.progress = (0, len(session.trace.graph.nodes))
        self._inspector_cache.clear()
        self.refresh_view()
        self._check(session.trace, session.settings, self.generation)

    @work(exclusive=True, group="check", exit_on_error=False)
    async def _check(self, trace: Trace, settings: Any, generation: int) -> None:
        """Check in a daemon thread that stops between probe chunks once this worker is cancelled."""
        stop = threading.Event()

        def check() -> None:
            for node_check in self.engine.check(trace, settings, should_stop=stop.is_set):
                if stop.is_set():
                    return
                self.post_message(CheckProgress(generation, node_check))

        try:
            outcome = await run_in_daemon(f"backprop-check-{generation}", check)
        except asyncio.CancelledError:  # a newer check, a new trace, or the app exiting
            stop.set()
            raise
        error = None
        if outcome.error is not None:  # a check that dies must say so, never read as a pass
            from tui_backprop.core.errors import describe_exception

            error = describe_exception(outcome.error)
        self.post_message(CheckDone(generation, error))

    def on_check_progress(self, message: CheckProgress) -> None:
        session = self.session
        if session is None or message.generation != self.generation or self.exiting:
            return
        session.record(message.check)
        self.progress = (session.n_checked, len(session.trace.graph.nodes))
        self._schedule_refresh()

    def on_check_done(self, message: CheckDone) -> None:
        session = self.session
        if session is None or message.generation != self.generation or self.exiting:
            return
        session.check_complete = True
        session.check_error = message.error
        self.progress = None
        if message.error:
            self.notify(f"the check stopped: {message.error}; check incomplete", severity="error", timeout=8)
        self.refresh_view()

    def _schedule_refresh(self) -> None:
        """Coalesce a burst of check results into one repaint."""
        if not self._refresh_pending:
            self._refresh_pending = True
            self.call_later(self._flush_refresh)

    def _flush_refresh(self) -> None:
        self._refresh_pending = False
        self.refresh_view()

    @property
    def exiting(self) -> bool:
        """The app is closing (or has no screen left): late answers from workers are dropped."""
        app: Any = self
        return bool(app._exit or app._closing or app._closed or not app.screen_stack)
