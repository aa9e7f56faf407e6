"""The numeric check of the session's trace, off the UI thread, its results recorded as they come.

``Checker.start`` numbers a new check (a *generation*) and spawns it; the author's forward runs
in a daemon thread (``daemon.py``) that stops between probe chunks once the check is cancelled.
Each node's result is recorded on the loop's thread as it arrives and a burst of them is
announced as one change; a result of an older generation, or one arriving after ``close``, is
dropped, so a late answer never overwrites a newer one. No Textual here.
"""

from __future__ import annotations

import asyncio
import threading
from functools import partial
from typing import TYPE_CHECKING

from tui_backprop.app import engine as door
from tui_backprop.app.model.daemon import run_in_daemon
from tui_backprop.app.model.model import Aspect, Model

if TYPE_CHECKING:
    from tui_backprop.app.engine import CheckSettings, Engine, NodeCheck, Trace
    from tui_backprop.app.model.tasks import Tasks


class Checker:
    """Runs the check of the model's session and records its results there."""

    def __init__(self, model: Model, engine: Engine, tasks: Tasks) -> None:
        self.model = model
        self.engine = engine
        self.tasks = tasks
        self.generation = 0
        self.closed = False
        self._unannounced = False

    @property
    def pending(self) -> bool:
        """Results recorded but not yet announced (they will be, on the loop's next turn)."""
        return self._unannounced

    def start(self) -> None:
        """Check the session's trace from scratch; a check still running is cancelled."""
        model = self.model
        session = model.session
        if session is None or self.closed:
            return
        self.generation += 1
        session.checks = {}
        session.check_complete = False
        session.check_error = None
        model.progress = (0, len(session.trace.graph.nodes))
        model.changed(Aspect.CHECK)
        self.tasks.spawn(partial(self._check, session.trace, session.settings, self.generation), "check")

    def close(self) -> None:
        """The app is closing: every answer from now on is dropped."""
        self.closed = True

    def current(self, generation: int) -> bool:
        return generation == self.generation and not self.closed and self.model.session is not None

    async def _check(self, trace: Trace, settings: CheckSettings, generation: int) -> None:
        """Check in a daemon thread that stops between probe chunks once this task is cancelled."""
        loop = asyncio.get_running_loop()
        stop = threading.Event()

        def check() -> None:
            for node_check in self.engine.check(trace, settings, should_stop=stop.is_set):
                if stop.is_set():
                    return
                loop.call_soon_threadsafe(self.record, generation, node_check)

        try:
            outcome = await run_in_daemon(f"backprop-check-{generation}", check)
        except asyncio.CancelledError:  # a newer check, a new trace, or the app exiting
            stop.set()
            raise
        error = None
        if outcome.error is not None:  # a check that dies must say so, never read as a pass
            error = door.describe_exception(outcome.error)
        self.finish(generation, error)

    def record(self, generation: int, node_check: NodeCheck) -> None:
        """One node's result (on the loop's thread); the change is announced once per burst."""
        session = self.model.session
        if session is None or not self.current(generation):
            return
        session.record(node_check)
        self.model.progress = (session.n_checked, len(session.trace.graph.nodes))
        if not self._unannounced:
            self._unannounced = True
            asyncio.get_running_loop().call_soon(self._announce)

    def _announce(self) -> None:
        if self._unannounced:
            self._unannounced = False
            self.model.changed(Aspect.CHECK)

    def finish(self, generation: int, error: str | None = None) -> None:
        """The check ended (``error``: why it stopped early; it then proves nothing beyond)."""
        session = self.model.session
        if session is None or not self.current(generation):
            return
        session.check_complete = True
        session.check_error = error
        self.model.progress = None
        self._unannounced = False
        self.model.changed(Aspect.CHECK)
        if error:
            self.model.notify(f"the check stopped: {error}; check incomplete", "error", 8)
