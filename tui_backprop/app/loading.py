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

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual import work
from textual.message import Message
from textual.timer import Timer
from textual.worker import get_current_worker

from tui_backprop.app.engine import Engine, Failure, Overrides
from tui_backprop.app.widgets import TextView

if TYPE_CHECKING:
    from tui_backprop.app.session import Session
    from tui_backprop.gradcheck import NodeCheck
    from tui_backprop.reload import FileWatcher
    from tui_backprop.scenarios import Scenario
    from tui_backprop.trace import Trace

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


class LoadingMixin:
    """Opens scenarios, watches their files and checks their traces, all off the UI thread."""

    engine: Engine
    overrides: Overrides
    default_dtype: str
    session: Session | None
    loaded: Request | None
    loading: Request | None
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
