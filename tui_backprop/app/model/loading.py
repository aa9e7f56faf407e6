"""Opening scenarios and lessons, switching bug, dtype or check settings, and live reload.

``Loader.open`` numbers each request (a *ticket*) and builds it in a daemon thread; only the
newest ticket's answer is shown, so a build stuck in the author's code is superseded by the next
one and its late answer dropped. ``show`` puts a built trace in the model, keeping the current
node and phase when they still exist, and starts the check. A failure is put in the model for
the App to show, and the last good trace stays.

Live reload: while a user's scenario file is open, ``poll`` (called by the App's timer) reopens
it when it or a module beside it that it imports was saved. No Textual here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from tui_backprop.app import engine as door
from tui_backprop.app.engine import DTYPES, Failure, Overrides, failure_of
from tui_backprop.app.model.checking import Checker
from tui_backprop.app.model.daemon import run_in_daemon
from tui_backprop.app.model.model import Aspect, Model, Request

if TYPE_CHECKING:
    from tui_backprop.app.engine import Engine, FileWatcher, Lesson, Scenario, Trace
    from tui_backprop.app.model.tasks import Tasks

RELOAD_POLL = 0.4
"""Seconds between looks at the user's scenario files for a save."""

Prepare = Callable[["Trace", bool], "Trace"]
"""(a freshly built trace, whether it already carries the edits) -> the trace to show."""


def _no_preparation(trace: Trace, applied: bool) -> Trace:
    return trace


class Loader:
    """Opens what the user asks for and keeps the model's session, failure and check up to date."""

    def __init__(
        self,
        model: Model,
        engine: Engine,
        tasks: Tasks,
        *,
        prepare: Prepare = _no_preparation,
        apply_lesson: Callable[[Lesson], None] | None = None,
        warm_up: Callable[[], None] | None = None,
    ) -> None:
        """``prepare`` runs a freshly built trace with the user's edits; ``apply_lesson`` takes a
        lesson's values, bookmarks and views; ``warm_up`` imports (in the build's thread) what
        drawing a trace will need."""
        self.model = model
        self.engine = engine
        self.tasks = tasks
        self.checker = Checker(model, engine, tasks)
        self.prepare = prepare
        self.apply_lesson = apply_lesson
        self.warm_up = warm_up
        self.ticket = 0
        self.watcher: FileWatcher | None = None
        """The user's scenario files, polled for saves (None for built-ins)."""
        self._catalog: list[tuple[str, str]] | None = None

    @property
    def closed(self) -> bool:
        return self.checker.closed

    def close(self) -> None:
        """The app is closing: answers from builds and checks still running are dropped."""
        self.checker.close()

    # ------------------------------------------------------------ opening
    def open(
        self, spec: str, bug: str | None = None, dtype: str | None = None, *, keep_position: bool = False
    ) -> None:
        """Load, trace and show a scenario (or a lesson ``.toml``) in the background."""
        model = self.model
        lesson = spec.endswith(".toml")  # its own bug and dtype, unless given (README "Lesson files")
        request = Request(spec, bug, dtype if lesson else dtype or model.default_dtype)
        self.ticket += 1
        model.loading = request
        model.playing = False
        if model.session is None and spec.endswith((".py", ".toml")):
            # a first build that never returns: the next save (of the lesson's scenario too) supersedes it
            self._watch_files(self.engine.spec_files(spec))
        model.changed(Aspect.LOADING | Aspect.PLAY)
        self.tasks.spawn(partial(self._build, request, self.ticket, keep_position), "load")

    async def _build(self, request: Request, ticket: int, keep_position: bool) -> None:
        """Build in a daemon thread; a newer load cancels this task and abandons a stuck build."""

        secret = self.model.secret  # a bug it does not have is refused naming the bugs as "bug N"

        def build() -> tuple[Lesson | None, Scenario, str | None, Trace]:
            if request.spec.endswith(".toml"):  # a lesson file (README "Lesson files")
                lesson, scenario, trace = self.engine.open_lesson(request.spec, request.bug, request.dtype)
                opened = (lesson, scenario, lesson.bug, trace)
            else:
                opened = (None, *self.engine.open(request.spec, request.bug, request.dtype, secret))
            self.engine.warm_up()
            if self.warm_up is not None:
                self.warm_up()
            return opened

        outcome = await run_in_daemon(f"backprop-load-{ticket}", build)
        if ticket != self.ticket or self.model.loading is None or self.closed:
            return  # superseded, or the app is closing
        self.model.loading = None
        if outcome.error is not None:  # the author's file: anything, sys.exit() included
            self.model.changed(Aspect.LOADING)
            self.fail(failure_of(outcome.error), request)
            return
        assert outcome.value is not None
        lesson, scenario, bug, trace = outcome.value
        if lesson is None:
            request = Request(request.spec, bug, request.dtype)  # the bug by its name ("2" typed)
            self.show(scenario, trace, bug, request.dtype, keep_position=keep_position, request=request)
            return
        request = Request(scenario.spec, lesson.bug, lesson.dtype)  # from here on it is its scenario
        with self.model.batch():
            if self.apply_lesson is not None:
                self.apply_lesson(lesson)
            self.show(
                scenario, trace, lesson.bug, lesson.dtype, keep_position=False, request=request, edited=True
            )
            if lesson.start is not None:
                self.model.session.go(lesson.start)  # type: ignore[union-attr]

    def show(
        self,
        scenario: Scenario,
        trace: Trace,
        bug: str | None,
        dtype: str,
        *,
        keep_position: bool = True,
        request: Request | None = None,
        edited: bool = False,
    ) -> None:
        """Show a built trace; keep the current node and phase if they still exist.

        The reload hook: call it (on the loop's thread) with the rebuilt scenario. Breakpoints on
        nodes that still exist are kept; the check starts again in the background. ``edited``: the
        trace already carries the user's edits.
        """
        from tui_backprop.app.model.session import Session  # after the first frame, with the trace

        model = self.model
        trace = self.prepare(trace, edited)
        params = tuple(n.name for n in door.parameters(trace.graph, trace.output))
        new = Session(
            scenario, bug, dtype, trace, self.engine.settings(dtype, model.overrides), params=params
        )
        new.show_all = model.show_all
        old = model.session
        if old is None or old.scenario.spec != scenario.spec:
            model.optimizer = None  # the next scenario's own learning rate
        if old is None or (old.scenario.spec, old.bug) != (scenario.spec, bug):
            model.revealed = False  # another bug: a mystery again (mystery-bug mode)
        if model.training is not None and model.training.last > 0:
            model.notify("training cleared: the graph runs from its own values again", timeout=3)
        model.training = None
        if keep_position and old is not None:
            old.place_in(new)
        with model.batch():
            model.session = new
            model.loading = None
            # Step numbers of another trace (a switched scenario, a rebuilt graph) may not exist here.
            model.bookmarks = [b for b in model.bookmarks if b.step < new.n_steps]
            model.loaded = request or Request(scenario.spec, bug, dtype)
            model.default_dtype = dtype
            model.inspected = None
            model.playing = False
            model.failure = None
            self._watch(scenario)
            model.changed(Aspect(sum(a.value for a in Aspect if a is not Aspect.VIEW)))
            self.checker.start()

    def show_iteration(self, trace: Trace, iteration: int, step: int, update: int | None) -> None:
        """A training iteration's trace (the same graph with the parameters it reached), at ``step``
        (and update step ``update``); its check starts again in the background."""
        model = self.model
        old = model.session
        if old is None:
            return
        new = type(old)(old.scenario, old.bug, old.dtype, trace, old.settings, params=old.params)
        new.iteration = iteration
        new.show_all = old.show_all
        new.breakpoints = set(old.breakpoints)
        new.go(step)
        new.update = update
        with model.batch():
            model.session = new
            model.inspected = None
            model.changed(Aspect.SESSION | Aspect.STEP | Aspect.FOCUS | Aspect.CHECK | Aspect.TRAINING)
            self.checker.start()

    def show_edited(self, trace: Trace) -> None:
        """The open scenario run again with the user's edits, on the same step."""
        session = self.model.session
        if session is not None:
            self.show(
                session.scenario,
                trace,
                session.bug,
                session.dtype,
                keep_position=True,
                request=self.model.loaded,
                edited=True,
            )

    def fail(self, failure: Failure | BaseException, request: Request | None = None) -> None:
        """A scenario could not be opened: say why (file:line) and keep the last good trace."""
        if self.closed:
            return
        if isinstance(failure, BaseException):
            failure = failure_of(failure)
        model = self.model
        model.failed = request
        model.failure = failure
        spec = request.spec if request else ""
        if model.session is None and spec.endswith((".py", ".toml")):
            self._watch_files([Path(spec)])  # a file that never ran: load it once it is fixed
        model.changed(Aspect.FAILURE)

    def retry(self) -> None:
        failed = self.model.failed
        if failed is not None:
            self.open(failed.spec, failed.bug, failed.dtype, keep_position=True)

    # ------------------------------------------------------------ bug, dtype, settings
    def set_bug(self, bug: str | None) -> None:
        """Rebuild the scenario with a named bug on (or none), staying on the same node."""
        loaded = self.model.loaded
        if loaded is not None:
            self.open(loaded.spec, bug, loaded.dtype, keep_position=True)

    def set_dtype(self, dtype: str) -> None:
        loaded = self.model.loaded
        if dtype in DTYPES and loaded is not None:
            self.open(loaded.spec, loaded.bug, dtype, keep_position=True)

    def toggle_dtype(self) -> None:
        loaded = self.model.loaded
        if loaded is not None:
            self.set_dtype("float32" if loaded.dtype == "float64" else "float64")

    def set_overrides(self, overrides: Overrides | None) -> None:
        """New eps / tolerances (None: the dtype's defaults) and a fresh check."""
        model = self.model
        model.overrides = overrides if overrides is not None else Overrides()
        if model.session is not None:
            model.session.settings = self.engine.settings(model.session.dtype, model.overrides)
            self.checker.start()

    def set_setting(self, field: str, value: float) -> None:
        self.set_overrides(replace(self.model.overrides, **{field: value}))

    def default_settings(self) -> dict[str, float]:
        """The dtype's eps, rtol and atol, for the settings screen's placeholders."""
        model = self.model
        dtype = model.session.dtype if model.session else model.default_dtype
        defaults = self.engine.settings(dtype, Overrides())
        return {"eps": defaults.eps, "rtol": defaults.rtol, "atol": defaults.atol}

    def catalog_names(self) -> list[tuple[str, str]]:
        """(slug, title) of every scenario, for the palette; loaded once."""
        if self._catalog is None:
            try:
                self._catalog = [(s.slug, s.title) for s in self.engine.catalog()]
            except BaseException:  # a plugin's import may even call sys.exit()
                self._catalog = []
        return self._catalog

    # ------------------------------------------------------------ live reload
    def _watch(self, scenario: Scenario) -> None:
        if scenario.kind != "file":
            self.watcher = None
            return
        self._watch_files(self.engine.source_files(scenario))

    def _watch_files(self, files: list[Path]) -> None:
        if self.watcher is None:
            self.watcher = door.FileWatcher(files)
        else:
            self.watcher.watch(files)

    def poll(self) -> bool:
        """Reopen the scenario if one of its files changed since the last look; True if so.

        A broken save shows the error and keeps the last good trace on screen; the next good save
        clears the error and returns to the same node and phase. A save while a build is still
        running (or stuck) starts a newer build that supersedes it.
        """
        model = self.model
        target = model.loading or model.loaded or model.failed
        if self.watcher is None or target is None or self.closed:
            return False
        if not self.watcher.poll():
            return False
        model.notify(f"reloading {Path(target.spec).name}", timeout=2)
        self.open(target.spec, target.bug, target.dtype, keep_position=True)
        return True
