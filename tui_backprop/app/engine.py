"""The app's one door into the engine: loading, tracing and checking, imported only when used.

The app is handed an ``Engine`` (memray's habit: the UI takes its data source as an argument), so
tests can give it one whose check is slow or whose scenarios fail, and so that numpy and the
engine are imported in a worker thread after the first frame rather than before it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tui_backprop.app.session import Session
    from tui_backprop.check.gradcheck import CheckSettings, NodeCheck
    from tui_backprop.core.scenarios import Scenario
    from tui_backprop.core.trace import Trace
    from tui_backprop.teach.lesson import Lesson

DTYPES = ("float64", "float32")


@dataclass(frozen=True)
class Overrides:
    """Check settings the user changed; None keeps the dtype's default."""

    eps: float | None = None
    rtol: float | None = None
    atol: float | None = None


@dataclass(frozen=True)
class Failure:
    """A scenario that could not be opened: the message and, when known, the author's file:line."""

    message: str
    filename: str | None = None
    lineno: int | None = None
    node: str | None = None

    @property
    def where(self) -> str | None:
        return f"{short_path(self.filename)}:{self.lineno}" if self.filename else None

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


def short_path(filename: str) -> str:
    """A path as the user would type it: relative when it is under the working directory."""
    try:
        relative = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if relative.startswith("..") else relative


class Engine:
    """Calls into ``tui_backprop``; every import happens on first use (usually in a worker)."""

    loader: Callable[[str], Scenario] | None = None
    """Loads a scenario by its spec where slugs and paths do not reach: the command line hands in
    the one that also knows its ``--torch`` target (README, "From PyTorch and JAX")."""

    def __init__(self, loader: Callable[[str], Scenario] | None = None) -> None:
        if loader is not None:
            self.loader = loader

    def catalog(self) -> list[Scenario]:
        """Every scenario; a ``scenarios.Catalog`` whose ``problems`` name the plugins that failed."""
        from tui_backprop.core import scenarios

        return scenarios.catalog()

    def open(self, spec: str, bug: str | None, dtype: str) -> tuple[Scenario, Trace]:
        """Load and trace a scenario; raises ``ScenarioError`` naming the author's file and line."""
        from tui_backprop.core import scenarios

        scenario = self.loader(spec) if self.loader is not None else scenarios.load(spec)
        return scenario, scenarios.trace_scenario(scenario, bug=bug, dtype=dtype)

    def source_files(self, scenario: Scenario) -> list[Path]:
        """The files live reload watches: the scenario file and the modules it imported beside it."""
        from tui_backprop.core import scenarios

        return scenarios.source_files(scenario)

    def settings(self, dtype: str, overrides: Overrides) -> CheckSettings:
        from tui_backprop.check.gradcheck import CheckSettings

        return CheckSettings.for_dtype(dtype, eps=overrides.eps, rtol=overrides.rtol, atol=overrides.atol)

    def check(
        self, trace: Trace, settings: CheckSettings, should_stop: Callable[[], bool] | None = None
    ) -> Iterator[NodeCheck]:
        """Node checks as they are made; stops (between probe chunks) once ``should_stop()``."""
        from tui_backprop.check.gradcheck import iter_check

        return iter_check(trace, settings, should_stop)

    def open_lesson(self, path: str) -> tuple[Lesson, Scenario, Trace]:
        """Read a lesson file and trace its scenario with its values; raises ``LessonError`` (file:line)."""
        from tui_backprop.teach import lesson

        return lesson.load(Path(path))

    def rerun(self, trace: Trace, values: dict) -> Trace:
        """The same graph run again with some leaves' values replaced (edits, nudges, undo)."""
        from tui_backprop.core.trace import run

        return run(trace.graph, trace.output, values)

    def rebuild(self, scenario: Scenario, bug: str | None, dtype: str, values: dict) -> Trace:
        """The scenario built afresh in ``dtype``, run with the edited values (the explorer's twin)."""
        from tui_backprop.core import scenarios
        from tui_backprop.core.trace import run

        graph, output = scenarios.build(scenario, bug, dtype)
        return run(graph, output, {k: v for k, v in values.items() if k in graph})

    def handout(self, session: Session, notes: dict[int, str], values: dict) -> str:
        """The Markdown handout of what is open: the bookmarked steps with their notes (every step
        when there are none), the node table and the verdict from the check as far as it got."""
        from tui_backprop.check.gradcheck import Check
        from tui_backprop.teach.handout import trace_markdown

        check = Check(session.trace, session.settings, dict(session.checks))
        steps = sorted(notes) or None
        return trace_markdown(session.scenario, session.bug, session.trace, check, steps, notes, values)

    def warm_up(self) -> None:
        """Import what rendering a trace needs, so the UI thread does not pay for it later."""
        import tui_backprop.app.views
        import tui_backprop.check.gradcheck  # noqa: F401


def failure_of(exc: BaseException) -> Failure:
    """Any exception from opening a scenario as a ``Failure`` (ScenarioError keeps its origin)."""
    from tui_backprop.core.errors import ScenarioError, describe_exception, origin_of_exception

    if isinstance(exc, ScenarioError):
        origin = exc.origin
        return Failure(
            exc.message, origin.filename if origin else None, origin.lineno if origin else None, exc.node
        )
    origin = origin_of_exception(exc)
    return Failure(
        f"unexpected error: {describe_exception(exc)}",
        origin.filename if origin else None,
        origin.lineno if origin else None,
    )
