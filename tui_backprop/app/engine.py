"""The app's one door into the engine: no other module of ``app/`` imports ``core``, ``check`` or ``teach``.

Two things pass through it (README, "Code map"):

- ``Engine``, every call that *runs* the engine: load and trace a scenario, check a trace, run it
  again with edited values, rebuild it in another dtype, read a lesson, write a handout. The app
  is handed one (memray's habit), so a test can give it one whose check is slow or whose
  scenarios fail; its imports happen on first use, in a worker thread after the first frame.
- The engine's vocabulary that the views read: its result types (for type hints) and the pure
  helpers that put its numbers into words (``plug``, ``links``, ``question_for`` ...). They are
  re-exported here by name and imported on first use (the module's ``__getattr__``), so that
  importing the app does not import numpy before its first frame (tests/test_app_startup.py).

``tests/test_layers.py`` holds the door shut: an import of the engine anywhere else in ``app/``,
inside a function or a ``TYPE_CHECKING`` block included, fails it.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tui_backprop.check.gradcheck import CheckSettings, NodeCheck
    from tui_backprop.core.scenarios import Catalog, Scenario
    from tui_backprop.core.trace import Trace
    from tui_backprop.teach.lesson import Lesson
    from tui_backprop.teach.saving import SaveTarget
    from tui_backprop.teach.training import Optimizer, Training

_VOCABULARY = {
    "tui_backprop.check.gradcheck": ["DEFAULTS", "CheckSettings", "Comparison", "NodeCheck"],
    "tui_backprop.check.resolution": ["below_resolution"],
    "tui_backprop.core.errors": ["describe_exception"],
    "tui_backprop.core.filewatch": ["FileWatcher"],
    "tui_backprop.core.graph": ["Node", "Origin"],
    "tui_backprop.core.scenarios": ["Catalog", "Scenario"],
    "tui_backprop.core.trace": ["Step", "Trace", "backward_origin"],
    "tui_backprop.teach.derivation": ["Link", "Probe", "central_difference", "links"],
    "tui_backprop.teach.edits": [
        "NUDGE_H",
        "EditError",
        "Edits",
        "Nudge",
        "distinct",
        "edited_value",
        "element_label",
        "first_nonfinite",
        "nudge",
        "reached",
    ],
    "tui_backprop.teach.element": [
        "Element",
        "ElementPath",
        "Focus",
        "default_index",
        "element_path",
        "fits",
        "parse_index",
    ],
    "tui_backprop.teach.lesson": ["Bookmark", "Lesson"],
    "tui_backprop.teach.mystery": ["bug_description", "bug_label", "public_bugs", "resolve_bug"],
    "tui_backprop.teach.matrix_rules": ["JacobianRule", "MatrixRule", "jacobian_rule", "matrix_rule"],
    "tui_backprop.teach.quiz": ["Grade", "Question", "Score", "grade", "question_for"],
    "tui_backprop.teach.numbers": [
        "Block",
        "Laid",
        "beside",
        "number",
        "shape_text",
        "sparkline",
        "matrix_layout=layout",
        "inline_tensor=inline",
    ],
    "tui_backprop.teach.saving": ["SaveRefusedError", "SaveTarget", "download_name"],
    "tui_backprop.teach.step_words": ["num", "plug", "plug_formula"],
    "tui_backprop.teach.stepsize": ["Sweep", "sweep"],
    "tui_backprop.teach.training": [
        "Iteration",
        "Optimizer",
        "ParamUpdate",
        "Training",
        "TrainingError",
        "Update",
        "parameters",
    ],
    "tui_backprop.teach.typed_numbers": ["NotANumberError", "evaluate"],
}
"""Each module's names the views read; ``alias=name`` where the engine's own name would read
ambiguously in a view (``matrix_layout`` for ``teach.numbers.layout``)."""
_HOME = {
    entry.partition("=")[0]: (module, entry.rpartition("=")[2])
    for module, entries in _VOCABULARY.items()
    for entry in entries
}

__all__ = [
    "DTYPES",
    "Engine",
    "Failure",
    "Overrides",
    "failure_of",
    "short_path",
    *_HOME,
]


def __getattr__(name: str) -> Any:
    """The engine's vocabulary, imported the first time a view asks for a name (PEP 562)."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, original = home
    value = getattr(importlib.import_module(module), original)
    globals()[name] = value
    return value


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
    """A path as the user would type it: relative when under the working directory; a built-in
    scenario's file as ``builtin/NAME.py`` wherever the package is installed (so no screen shows
    where the app happens to be installed)."""
    builtin = sys.modules.get("tui_backprop.builtin")
    folders = [os.path.realpath(p) for p in getattr(builtin, "__path__", [])]
    real = os.path.realpath(filename)
    if any(os.path.dirname(real) == folder for folder in folders):
        return f"builtin/{os.path.basename(real)}"
    try:
        relative = os.path.relpath(filename)
    except ValueError:
        return filename
    return filename if relative.startswith("..") else relative


class Engine:
    """Calls into the engine; every import happens on first use (usually in a worker thread)."""

    loader: Callable[[str], Scenario] | None = None
    """Loads a scenario by its spec where slugs and paths do not reach: the command line hands in
    the one that also knows its ``--torch`` target (README, "From PyTorch and JAX")."""

    def __init__(self, loader: Callable[[str], Scenario] | None = None) -> None:
        if loader is not None:
            self.loader = loader

    def catalog(self) -> Catalog:
        """Every scenario; a ``scenarios.Catalog`` whose ``problems`` name the plugins that failed."""
        from tui_backprop.core import scenarios

        return scenarios.catalog()

    def open(
        self, spec: str, bug: str | None, dtype: str, mystery: bool = False
    ) -> tuple[Scenario, str | None, Trace]:
        """Load and trace a scenario with a bug by its name, ``bug N`` or ``N`` (returned by its
        name); raises ``ScenarioError`` naming the author's file and line (in mystery-bug mode, a
        bug it does not have is refused listing the bugs as "bug N" only)."""
        from tui_backprop.core import scenarios
        from tui_backprop.teach.mystery import resolve_bug

        scenario = self.loader(spec) if self.loader is not None else scenarios.load(spec)
        bug = resolve_bug(scenario, bug, mystery)
        return scenario, bug, scenarios.trace_scenario(scenario, bug=bug, dtype=dtype)

    def source_files(self, scenario: Scenario) -> list[Path]:
        """The files live reload watches: the scenario file and the modules it imported beside it."""
        from tui_backprop.core import scenarios

        return scenarios.source_files(scenario)

    def spec_files(self, spec: str) -> list[Path]:
        """The files a scenario path or a lesson names, before anything is built: a lesson and the
        scenario file it names (live reload's watch while the first load builds)."""
        if spec.endswith(".toml"):
            from tui_backprop.teach import lesson

            return lesson.files(Path(spec))
        return [Path(spec)]

    def settings(self, dtype: str, overrides: Overrides) -> CheckSettings:
        from tui_backprop.check.gradcheck import CheckSettings

        return CheckSettings.for_dtype(dtype, eps=overrides.eps, rtol=overrides.rtol, atol=overrides.atol)

    def check(
        self, trace: Trace, settings: CheckSettings, should_stop: Callable[[], bool] | None = None
    ) -> Iterator[NodeCheck]:
        """Node checks as they are made; stops (between probe chunks) once ``should_stop()``."""
        from tui_backprop.check.gradcheck import iter_check

        return iter_check(trace, settings, should_stop)

    def open_lesson(
        self, path: str, bug: str | None = None, dtype: str | None = None
    ) -> tuple[Lesson, Scenario, Trace]:
        """Read a lesson file and trace its scenario with its values; raises ``LessonError`` (file:line).
        ``bug`` and ``dtype``, when given, replace the lesson's own (README "Lesson files")."""
        from tui_backprop.teach import lesson

        return lesson.load(Path(path), bug=bug, dtype=dtype)

    # ------------------------------------------------------------ saving (README "Bookmarks and lessons")
    def guest(self) -> bool:
        """This process is a browser guest's (``serve``): it opens only what it was served and the
        built-ins, and writes nothing on the server; what it saves is delivered to the browser."""
        from tui_backprop.core import guest

        return guest.active() is not None

    def refuses(self, spec: str) -> bool:
        """A served copy may not open this file (only what it was served and the built-ins)."""
        from tui_backprop.core import guest

        is_path = spec.endswith((".py", ".toml")) or "/" in spec or os.sep in spec or spec.startswith("~")
        return is_path and guest.refusal(spec) is not None

    def save_target(
        self, typed: str, *, suffix: str | None = None, protected: list[Path] | None = None
    ) -> SaveTarget:
        """The file a typed path names, or ``SaveRefusedError`` (an ``OSError``) saying why not in one
        line; ``exists`` says a file is there to ask about. ``protected``: never written over."""
        from tui_backprop.teach.saving import save_target

        return save_target(typed, suffix=suffix, protected=protected or ())

    def save_lesson(
        self, lesson: Lesson, path: Path, *, replace: bool = False, protected: list[Path] | None = None
    ) -> Path:
        """Write a lesson file whole; the path written (``OSError`` saying why when it cannot be, or
        when a file is there and ``replace`` is not given)."""
        from tui_backprop.teach.lesson import save

        return save(lesson, path, replace=replace, protected=protected or ())

    def lesson_text(self, lesson: Lesson) -> str:
        """A lesson file's text to deliver to a browser: a scenario file named by its file name alone."""
        from tui_backprop.teach.lesson import dumps

        spec = lesson.scenario
        folder = Path(spec).resolve().parent if spec.endswith(".py") or "/" in spec else None
        return dumps(lesson, folder)

    def write_text(self, target: SaveTarget, text: str) -> Path:
        """Write ``text`` to a checked target whole (a temporary file renamed over it)."""
        from tui_backprop.teach.saving import write_atomically

        return write_atomically(target, text)

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

    def handout(
        self,
        scenario: Scenario,
        bug: str | None,
        trace: Trace,
        settings: CheckSettings,
        checks: dict[str, NodeCheck],
        notes: dict[int, str],
        values: dict,
        mystery: bool = False,
    ) -> str:
        """The Markdown handout of the bookmarked steps with their notes (every step when there are
        none), the node table and the verdict from the check as far as it got (``mystery``: the
        bug named only by its label)."""
        from tui_backprop.check.gradcheck import finished
        from tui_backprop.teach.handout import trace_markdown

        check = finished(trace, settings, dict(checks))
        steps = sorted(notes) or None
        return trace_markdown(scenario, bug, trace, check, steps, notes, values, mystery=mystery)

    def training(self, scenario: Scenario, trace: Trace, optimizer: Optimizer, start: dict) -> Training:
        """Training from ``trace`` (iteration 0; ``start``: the leaves the user edited), with the
        scenario's ``accuracy`` when it has one; raises ``TrainingError`` saying what is wrong."""
        from tui_backprop.teach.training import Training, scenario_accuracy

        accuracy = scenario_accuracy(scenario.module)
        return Training(trace.graph, trace.output, optimizer, start, accuracy, first=trace)

    def optimizer(self, scenario: Scenario) -> Optimizer:
        """Plain SGD at the scenario's ``LEARNING_RATE`` (else the default, 0.1)."""
        from tui_backprop.teach.training import Optimizer, scenario_learning_rate

        return Optimizer(scenario_learning_rate(scenario.module))

    def warm_up(self) -> None:
        """Import what checking and explaining a trace needs, so the UI thread does not pay for it."""
        import tui_backprop.check.gradcheck
        import tui_backprop.teach.derivation
        import tui_backprop.teach.step_words  # noqa: F401


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
