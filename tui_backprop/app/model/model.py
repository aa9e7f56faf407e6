"""The open session as one observable model: everything the views show, and who to tell when it changes.

One ``Model`` per app: the ``Session`` (trace, step, check results, breakpoints), what is being
loaded, the check settings, the node looked at, the edits, bookmarks, quiz, play state and view.
Services (``stepping.py``, ``loading.py``, ``explore/``) change it and then call ``changed`` with
the ``Aspect`` they touched; each widget subscribes to the aspects it draws and redraws only
itself (toolong's habit: state in one place, views that watch it). Notices for the user (``no
bookmarks``) go through ``notify``, so services never need the UI. No Textual here: a test
drives the model and its services with no App at all.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from tui_backprop.app.engine import Overrides
from tui_backprop.app.look import digits as display

if TYPE_CHECKING:
    from tui_backprop.app.engine import Bookmark, Edits, Failure, Focus, Grade, Optimizer, Score, Training
    from tui_backprop.app.model.session import Session

PACES = (0.25, 0.5, 1.0, 2.0)
"""Seconds per step while playing."""


class Aspect(enum.Flag):
    """What a change touched; a subscriber names the aspects it draws."""

    SESSION = enum.auto()
    """A new session: another trace (a load, a reload, an edit re-run). Everything is new."""
    STEP = enum.auto()
    """The step moved."""
    FOCUS = enum.auto()
    """The node looked at (the list cursor peeking) changed."""
    CHECK = enum.auto()
    """Check results arrived, the check finished or started again, or its settings changed."""
    MARKS = enum.auto()
    """Breakpoints, bookmarks or the bookmark note."""
    DISPLAY = enum.auto()
    """Significant digits, the show-every-result switch or mystery-bug mode: everything is drawn again."""
    EDITS = enum.auto()
    """Edited values (and the first non-finite value they lead to)."""
    QUIZ = enum.auto()
    PLAY = enum.auto()
    """Playing, paused, or the pace."""
    LOADING = enum.auto()
    """A load started or ended."""
    FAILURE = enum.auto()
    """A scenario could not be opened, or the failure was cleared."""
    VIEW = enum.auto()
    """The node list or the circuit; presenter mode on or off."""
    TRAINING = enum.auto()
    """The optimizer, the training run (more iterations) or its playing changed."""
    ELEMENT = enum.auto()
    """The element followed in a tensor was chosen (README: "The element to follow")."""


EVERYTHING = Aspect(sum(a.value for a in Aspect))

Listener = Callable[[Aspect], None]
Notice = Callable[[str, str, float], None]
"""(message, severity, seconds shown)."""
View = Literal["debugger", "circuit"]


@dataclass(frozen=True)
class Request:
    """What to open: a slug, a path or a lesson ``.toml``, a bug, a dtype (for a lesson, None
    keeps the lesson's own)."""

    spec: str
    bug: str | None = None
    dtype: str | None = "float64"


@dataclass
class QuizState:
    """Quiz mode: on or off, the last answer's grade, a message for text that was not a number."""

    on: bool = False
    last: Grade | None = None
    message: str = ""
    score: Score | None = None
    """Created with the first grade (it comes from the engine)."""
    card_shown: set[int] = field(default_factory=set)
    """Steps whose result the presenter card has revealed (in quiz mode it shows ``?`` first)."""


@dataclass
class TrainingState:
    """Training over the open scenario (README "The update step, and training"): the engine's run of
    iterations, any of which can be stepped back to; the session shows one (``Session.iteration``)."""

    run: Training
    playing: bool = False
    """Space plays iterations (not steps) while there are iterations to show."""
    busy: bool = False
    """A training run is adding iterations in the background: nothing else touches the run."""

    @property
    def last(self) -> int:
        return len(self.run) - 1


@dataclass
class Model:
    """Everything the app shows; services change it, widgets watch it."""

    session: Session | None = None
    loading: Request | None = None
    """The request being loaded; None when no load is under way."""
    loaded: Request | None = None
    """The request the current session came from (what a bug or dtype switch reopens)."""
    failed: Request | None = None
    failure: Failure | None = None
    """Why the last request could not be opened (None once a trace is shown again)."""
    default_dtype: str = "float64"
    overrides: Overrides = field(default_factory=Overrides)
    progress: tuple[int, int] | None = None
    """(nodes checked, nodes) while the check runs."""
    inspected: str | None = None
    """The node the list cursor peeks at; None follows the current step's node."""
    show_all: bool = False
    """Show every check result at once (debugging); by default a result waits for its step."""
    mystery: bool = False
    """Mystery-bug mode (README "Teaching with it"): bugs are "bug 1", "bug 2", with no name and no
    description anywhere on screen, until revealed on purpose (``revealed``)."""
    revealed: bool = False
    view: View = "debugger"
    presenting: bool = False
    playing: bool = False
    pace: int = PACES.index(1.0)
    edits: Edits | None = None
    """The leaf values the user changed (created with the first edit: it comes from the engine)."""
    nonfinite: str | None = None
    """The first non-finite value the edits lead to, in words."""
    bookmarks: list[Bookmark] = field(default_factory=list)
    quiz: QuizState = field(default_factory=QuizState)
    optimizer: Optimizer | None = None
    """How an update step moves the parameters (plain SGD or momentum, the learning rate); the
    scenario's ``LEARNING_RATE`` until changed (``train.service.Trainer``)."""
    training: TrainingState | None = None
    """The iterations run so far (None: none beyond the trace itself)."""
    chosen: dict[str, tuple[int, ...]] = field(default_factory=dict)
    """The element followed in each tensor, by node name, as the lecturer chose it; a tensor not
    in here follows ``teach.element``'s default. Kept while stepping and across reloads (a choice
    that no longer fits its tensor is ignored). The element cursor's keys, clicks and typed
    choices change it through ``model.elements.Elements``."""
    _listeners: list[tuple[Listener, Aspect]] = field(default_factory=list, repr=False)
    _notices: list[Notice] = field(default_factory=list, repr=False)
    _shown: tuple[str, float] = field(default=("", 0.0), repr=False)
    """The last notice's words and until when they are on screen."""
    _batch: list[Aspect] = field(default_factory=list, repr=False)

    # ------------------------------------------------------------ watching it
    def subscribe(self, listener: Listener, aspects: Aspect = EVERYTHING) -> Callable[[], None]:
        """Call ``listener(touched)`` after every change that touches ``aspects``; returns the
        function that stops it (a widget calls it when it is unmounted)."""
        entry = (listener, aspects)
        self._listeners.append(entry)

        def unsubscribe() -> None:
            if entry in self._listeners:
                self._listeners.remove(entry)

        return unsubscribe

    def changed(self, aspects: Aspect) -> None:
        """Tell every subscriber whose aspects this change touches (once per batch)."""
        if self._batch:
            self._batch[-1] |= aspects
            return
        for listener, wanted in list(self._listeners):
            touched = aspects & wanted
            if touched:
                listener(touched)

    @contextmanager
    def batch(self) -> Iterator[None]:
        """Several changes, announced once at the end (a load changes the session, marks, edits...)."""
        self._batch.append(Aspect(0))
        try:
            yield
        finally:
            aspects = self._batch.pop()
            if aspects:
                self.changed(aspects)

    def on_notice(self, notice: Notice) -> None:
        """Where ``notify`` goes: the App shows a toast; a test keeps a list."""
        self._notices.append(notice)

    def notify(self, message: str, severity: str = "information", timeout: float = 3) -> None:
        """Say ``message`` in a toast; the same words while they are still shown are not stacked
        again (``n`` held down at the end of a run that cannot train)."""
        now = time.monotonic()
        if self._shown[0] == message and now < self._shown[1]:
            return
        self._shown = (message, now + timeout)
        for notice in self._notices:
            notice(message, severity, timeout)

    # ------------------------------------------------------------ reading it
    @property
    def looked_at(self) -> str | None:
        """The node the views show: the one peeked at, else the current step's."""
        if self.session is None:
            return None
        return self.inspected or self.session.node_name

    def focus(self) -> Focus:
        """The element every view writes out per tensor: the choices, else the default from the
        check results that may be shown now (no spoilers)."""
        from tui_backprop.app import engine as door

        session = self.session
        if session is None:
            return door.Focus(dict(self.chosen))
        return door.Focus(dict(self.chosen), session.checks, session.check_shown)

    def element(self, name: str) -> tuple[int, ...]:
        """The index followed in tensor ``name`` of the open trace (``()`` for a scalar)."""
        assert self.session is not None
        return self.focus().index(self.session.trace, name)

    @property
    def note(self) -> str | None:
        """The note of the bookmark at the current step, ``1/2 the sign of d(1/e)/de`` (status line,
        presenter card); None where there is no bookmark, so a note never outlives its step."""
        session = self.session
        if session is None:
            return None
        for k, mark in enumerate(self.bookmarks):
            if mark.step == session.step:
                return f"{k + 1}/{len(self.bookmarks)} {mark.note}".strip()
        return None

    # ------------------------------------------------------------ mystery-bug mode
    @property
    def secret(self) -> bool:
        """Must the bugs' names and descriptions stay off the screen (mystery mode, not revealed)?"""
        return self.mystery and not self.revealed

    def bug_label(self) -> str | None:
        """What every view calls the open bug: its name, or ``bug N`` while it is a secret."""
        from tui_backprop.app import engine as door

        session = self.session
        return door.bug_label(session.scenario, session.bug, self.secret) if session else None

    def bugs(self) -> list[tuple[str, str, str]]:
        """The open scenario's bugs as (name, label, description) as they may be shown: in mystery
        mode the label is ``bug N`` and the description empty (the name is for switching it on)."""
        from tui_backprop.app import engine as door

        session = self.session
        if session is None:
            return []
        shown = door.public_bugs(session.scenario, self.secret)
        return [(name, label, text) for name, (label, text) in zip(session.scenario.bugs, shown, strict=True)]

    def set_mystery(self, on: bool) -> None:
        """Mystery-bug mode on (a secret again) or off."""
        self.mystery = on
        self.revealed = False
        self.changed(Aspect.DISPLAY)

    def reveal(self) -> None:
        """Show the bug's name and description from now on (asked for on purpose)."""
        self.revealed = True
        self.changed(Aspect.DISPLAY)

    @property
    def title(self) -> str:
        if self.session is not None:
            return self.session.scenario.slug
        if self.loading is not None:
            return f"loading {self.loading.spec}…"
        return "backprop-tui"

    # ------------------------------------------------------------ display settings
    def set_digits(self, digits: int) -> int:
        """Show ``digits`` significant digits in every view (3..17); the value set."""
        before = display.digits()
        now = display.set_digits(digits)
        if now != before:
            self.changed(Aspect.DISPLAY)
        return now

    def set_show_all(self, on: bool) -> None:
        self.show_all = on
        if self.session is not None:
            self.session.show_all = on
        self.changed(Aspect.DISPLAY)

    def set_view(self, view: View) -> None:
        self.view = view
        self.changed(Aspect.VIEW)

    def set_presenting(self, on: bool) -> None:
        if on and self.session is None:
            return
        self.presenting = on
        self.changed(Aspect.VIEW)

    def choose_element(self, name: str, index: tuple[int, ...] | None) -> None:
        """Follow element ``index`` of tensor ``name`` in every view (None: back to the default)."""
        if index is None:
            if self.chosen.pop(name, None) is None:
                return
        elif self.chosen.get(name) == tuple(index):
            return
        else:
            self.chosen[name] = tuple(index)
        self.changed(Aspect.ELEMENT)
