"""Lesson files: a scenario set up for a class, in TOML, read with ``tomllib`` and written by hand.

A lesson names the scenario, the bug, the dtype, any leaf values that differ from the scenario
file, bookmarks (a step and a one-line note each), the step and the view to start in, and whether
quiz mode is on. README's "Lesson files" section shows a complete one. A malformed lesson is
refused like a broken scenario: a ``LessonError`` (a ``ScenarioError``) naming the lesson file and
the line of the offending key, so the CLI exits 2 with one line and the app shows its error screen.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from tui_backprop.core import guest
from tui_backprop.core.errors import ScenarioError
from tui_backprop.core.graph import Origin
from tui_backprop.core.sandbox import ScenarioFileError, shown, source_file
from tui_backprop.core.scenarios import Scenario
from tui_backprop.core.trace import Trace

Array = np.ndarray
DTYPES = ("float64", "float32")
VIEWS = ("debugger", "circuit", "presenter")
"""Views a lesson may start in (README "Lesson files")."""
MAX_NESTING = 32
"""Lists in ``[values]`` nest at most this deep (a leaf of more dimensions is no lesson's)."""
KEYS = ("scenario", "bug", "dtype", "start", "view", "quiz", "mystery", "values", "bookmarks")
SUFFIX = ".toml"


class LessonError(ScenarioError):
    """A lesson file that cannot be opened; ``origin`` is the lesson file and the offending line."""


@dataclass(frozen=True)
class Bookmark:
    step: int
    """0-based, like ``Trace.steps``; README and the file count from 1."""
    note: str


@dataclass
class Lesson:
    """A lesson as the app and the CLI use it (steps resolved, values checked against the graph)."""

    scenario: str
    """What ``scenarios.load`` takes: a slug, or an absolute path to a ``.py`` file."""
    bug: str | None = None
    dtype: str = "float64"
    start: int | None = None
    view: str = "debugger"
    quiz: bool = False
    mystery: bool = False
    """Mystery-bug mode: the bug is "bug N", undescribed (``teach.mystery``)."""
    values: dict[str, Array] = field(default_factory=dict)
    bookmarks: list[Bookmark] = field(default_factory=list)
    path: Path | None = None


def is_lesson(spec: str) -> bool:
    return spec.endswith(SUFFIX)


# ---------------------------------------------------------------- reading
class _Lines:
    """Finds the line of a key in the TOML text (tomllib gives values, not positions)."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines()

    def of(self, key: str, table: str | None = None, entry: int | None = None) -> int:
        """The line of ``key`` at the top level, in ``[table]``, or in the ``entry``-th ``[[table]]``."""
        current: str | None = None
        seen: dict[str, int] = {}
        fallback = 1
        pattern = re.compile(rf"^\s*(?:{re.escape(key)}|\"{re.escape(key)}\"|'{re.escape(key)}')\s*=")
        for number, line in enumerate(self.lines, start=1):
            stripped = line.strip()
            header = re.match(r"^\[\[\s*([^\]]+?)\s*\]\]", stripped) or re.match(
                r"^\[\s*([^\]]+?)\s*\]", stripped
            )
            if header:
                current = header.group(1).strip("\"'")
                if stripped.startswith("[["):
                    seen[current] = seen.get(current, -1) + 1
                if current == table and (entry is None or seen.get(current) == entry):
                    fallback = number
                continue
            here = current == table and (entry is None or seen.get(current, 0) == entry)
            if here and pattern.match(line):
                return number
            if table is not None and current is None and re.match(rf"^\s*{re.escape(table)}\s*=", line):
                fallback = number  # an inline table or array of tables
        return fallback


def read(path: Path) -> tuple[Lesson, _Lines]:
    """Parse and type-check a lesson file (no scenario is loaded yet). Raises ``LessonError``."""
    path = Path(path)
    refused = guest.refusal(path)
    if refused:
        raise LessonError(refused)
    try:  # vetted first: a FIFO, a directory or a binary must not hang or crash the read
        _, text = source_file(str(path), ".toml", "lesson file")
    except ScenarioFileError as exc:
        raise LessonError(str(exc)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        line = int(match.group(1)) if match else 1
        message = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc)) or "invalid TOML"
        raise LessonError(f"not valid TOML: {message}", Origin(str(path), line)) from None
    except RecursionError:  # tomllib reads nested arrays and tables by recursion
        raise LessonError(
            f"arrays or tables nested more than {MAX_NESTING} deep", Origin(str(path), _too_deep(text))
        ) from None
    except ValueError:  # Python refuses to read an integer of more than 4300 digits
        found = re.search(r"\d{4000,}", text)
        line = text.count("\n", 0, found.start()) + 1 if found else 1
        raise LessonError(
            "an integer with thousands of digits: not a value", Origin(str(path), line)
        ) from None
    lines = _Lines(text)

    def fail(message: str, key: str, table: str | None = None, entry: int | None = None) -> LessonError:
        return LessonError(message, Origin(str(path), lines.of(key, table, entry)))

    for key in data:
        if key not in KEYS:
            raise fail(f"unknown key {key!r} (a lesson has: {', '.join(KEYS)})", key)
    scenario = data.get("scenario")
    if not isinstance(scenario, str) or not scenario.strip():
        if "scenario" not in data:
            raise LessonError(
                'the lesson names no scenario (scenario = "sigmoid-chain")', Origin(str(path), 1)
            )
        raise fail("scenario must be a string: a built-in slug or a path to a .py file", "scenario")
    if not scenario.isprintable():  # a NUL or a line break names no file and no slug
        raise fail(f"scenario {scenario!r} holds a control character: not a slug or a path", "scenario")
    if scenario.endswith(".py") or "/" in scenario:
        scenario = str((path.parent / scenario).resolve())
    lesson = Lesson(scenario, path=path)
    for key, kind, what in (
        ("bug", str, "a bug name"),
        ("dtype", str, "float64 or float32"),
        ("view", str, f"one of {', '.join(VIEWS)}"),
        ("quiz", bool, "true or false"),
        ("mystery", bool, "true or false"),
    ):
        if key in data and not isinstance(data[key], kind):
            raise fail(f"{key} must be {what}, not {_toml_type(data[key])}", key)
    lesson.bug = data.get("bug") or None
    lesson.dtype = data.get("dtype", "float64")
    if lesson.dtype not in DTYPES:
        raise fail(f"dtype must be float64 or float32, not {lesson.dtype!r}", "dtype")
    lesson.view = data.get("view", "debugger")
    if lesson.view not in VIEWS:
        raise fail(f"view must be one of {', '.join(VIEWS)}, not {lesson.view!r}", "view")
    lesson.quiz = data.get("quiz", False)
    lesson.mystery = data.get("mystery", False)
    values = data.get("values", {})
    if not isinstance(values, dict):
        raise fail("values must be a table: [values] with one line per leaf, e.g. x = 2.5", "values")
    for name, value in values.items():
        if _depth(value) > MAX_NESTING:
            raise fail(f"values.{name} is nested more than {MAX_NESTING} deep", name, "values")
        try:
            array = np.array(value, dtype=np.float64)
        except OverflowError:  # an integer beyond float64 (a 400-digit one)
            raise fail(
                f"values.{name} holds a number too large for a float (beyond ±1.8e308)", name, "values"
            ) from None
        except (TypeError, ValueError):
            raise fail(f"values.{name} must be a number or a list of numbers", name, "values") from None
        if array.dtype == object or not _all_numbers(value):
            raise fail(f"values.{name} must be a number or a list of numbers", name, "values")
        if not np.all(np.isfinite(array)):
            raise fail(f"values.{name} must be finite", name, "values")
        lesson.values[name] = array
    bookmarks = data.get("bookmarks", [])
    if not isinstance(bookmarks, list) or not all(isinstance(b, dict) for b in bookmarks):
        raise fail("bookmarks must be [[bookmarks]] tables, each with a step and a note", "bookmarks")
    return lesson, lines


def files(path: Path) -> list[Path]:
    """The lesson file and the scenario file it names (a slug names none): what live reload watches
    while the first load is still building, so that a scenario whose very first ``build()`` never
    returns is superseded by the next save of either. A lesson that cannot be read: itself alone."""
    path = Path(path).expanduser()
    try:
        lesson, _ = read(path)
    except LessonError:
        return [path]
    scenario = Path(lesson.scenario)
    return [path, scenario] if scenario.is_absolute() else [path]


def _depth(value: Any) -> int:
    """How deeply lists nest in ``value``, counted level by level (no recursion)."""
    depth, level = 0, [value]
    while any(isinstance(v, list) for v in level):
        level = [item for v in level if isinstance(v, list) for item in v]
        depth += 1
    return depth


def _too_deep(text: str) -> int:
    """The line where arrays or inline tables first nest more than ``MAX_NESTING`` deep (1 if none
    does); strings and comments are skipped."""
    depth, line, quote, i = 0, 1, "", 0
    while i < len(text):
        ch = text[i]
        if ch == "\n":
            line += 1
        if quote:
            if ch == "\\" and quote.startswith('"'):
                i += 1  # an escaped character, a quote or a line break, is part of the string
                line += text[i : i + 1] == "\n"
            elif text.startswith(quote, i):
                i, quote = i + len(quote), ""
                continue
        elif ch == "#":
            i = text.find("\n", i)
            if i < 0:
                break
            continue
        elif ch in "\"'":
            quote = text[i : i + 3] if text[i : i + 3] in ('"""', "'''") else ch
            i += len(quote)
            continue
        elif ch in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return line
        elif ch in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return 1


def _all_numbers(value: Any) -> bool:
    if isinstance(value, list):
        return all(_all_numbers(v) for v in value)
    return isinstance(value, int | float) and not isinstance(value, bool)


def _toml_type(value: Any) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string", list: "an array"}.get(
        type(value), "a table"
    )


def load(path: Path, *, bug: str | None = None, dtype: str | None = None) -> tuple[Lesson, Scenario, Trace]:
    """Read a lesson and check it against its scenario: the scenario and bug exist, the edited
    values are leaves of the right shape, every step is in the trace. Raises ``LessonError``
    (or the scenario's own ``ScenarioError`` when its file is broken).

    ``bug`` and ``dtype``, when given, replace the lesson's own (``check lesson.toml --bug X``:
    README "Lesson files"); a bug its scenario does not have is refused like ``--bug`` on a scenario.
    """
    from tui_backprop.core import scenarios
    from tui_backprop.core.trace import run
    from tui_backprop.teach.mystery import resolve_bug

    path = Path(path).expanduser()  # errors name the file as the user wrote it
    lesson, lines = read(path)
    if dtype is not None:
        lesson.dtype = dtype
    data = tomllib.loads(lines.text)

    def fail(message: str, key: str, table: str | None = None, entry: int | None = None) -> LessonError:
        return LessonError(message, Origin(str(path), lines.of(key, table, entry)))

    try:
        scenario = scenarios.load(lesson.scenario)
    except ScenarioError as exc:
        if exc.origin is None or not Path(exc.origin.filename).exists():
            raise fail(exc.message, "scenario") from None
        raise
    if bug is not None:  # the command line's word, not the file's: no line to name
        try:
            lesson.bug = resolve_bug(scenario, bug, lesson.mystery)
        except ScenarioError as exc:
            raise LessonError(f"--bug: {exc.message}") from None
    else:
        try:  # by name, or as "bug N" (a mystery lesson need not name it either)
            lesson.bug = resolve_bug(scenario, lesson.bug, lesson.mystery)
        except ScenarioError as exc:
            raise fail(exc.message, "bug") from None
    graph, output = scenarios.build(scenario, lesson.bug, lesson.dtype)
    for name, value in lesson.values.items():
        if name not in graph:
            raise fail(f"values.{name}: {scenario.slug} has no node named {name!r}", name, "values")
        node = graph[name]
        if not node.is_leaf:
            raise fail(
                f"values.{name}: {name} is computed by an op, only inputs and params can be set",
                name,
                "values",
            )
        assert node.value is not None
        if node.value.shape != value.shape:
            raise fail(
                f"values.{name} has shape {list(value.shape)}, the leaf has {list(node.value.shape)}",
                name,
                "values",
            )
    trace = run(graph, output, lesson.values)
    if "start" in data:
        lesson.start = _step(data["start"], trace, lambda m: fail(m, "start"))
    for k, mark in enumerate(data.get("bookmarks", [])):
        unknown = sorted(set(mark) - {"step", "note"})
        if unknown:
            raise fail(
                f"bookmark {k + 1}: unknown key {unknown[0]!r} (a bookmark has step and note)",
                unknown[0],
                "bookmarks",
                k,
            )
        if "step" not in mark:
            raise LessonError(
                f"bookmark {k + 1} has no step", Origin(str(path), lines.of("note", "bookmarks", k))
            )
        note = mark.get("note", "")
        if not isinstance(note, str) or "\n" in note.strip():
            raise fail(f"bookmark {k + 1}: note must be a one-line string", "note", "bookmarks", k)
        step = _step(
            mark["step"], trace, lambda m, k=k: fail(f"bookmark {k + 1}: {m}", "step", "bookmarks", k)
        )
        lesson.bookmarks.append(Bookmark(step, note.strip()))
    return lesson, scenario, trace


def _step(value: Any, trace: Trace, fail) -> int:
    """A step as written: its number (1 to N, as the status line counts) or ``"backward f"``."""
    n = len(trace.steps)
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise fail(f'step must be a number from 1 to {n} or "forward NODE" / "backward NODE"')
    if isinstance(value, int):
        if not 1 <= value <= n:
            raise fail(f"there is no step {value}: this trace has steps 1 to {n}")
        return value - 1
    parts = value.split()
    if len(parts) != 2 or parts[0] not in ("forward", "backward"):
        raise fail(f'step {value!r} must read "forward NODE" or "backward NODE"')
    index = trace.forward_index if parts[0] == "forward" else trace.backward_index
    if parts[1] not in index:
        raise fail(f"there is no {parts[0]} step for a node named {parts[1]!r}")
    return index[parts[1]]


# ---------------------------------------------------------------- writing
def dumps(lesson: Lesson, folder: Path | None = None) -> str:
    """The lesson as TOML (written by hand: tomllib only reads). Paths are made relative to
    ``folder`` (where the lesson is saved) when the scenario file is under it."""
    scenario = lesson.scenario
    if folder is not None and (scenario.endswith(".py") or "/" in scenario):
        try:
            scenario = str(Path(scenario).resolve().relative_to(Path(folder).resolve()))
        except ValueError:
            scenario = str(Path(scenario).resolve())
    out = [
        "# A backprop-tui lesson: open it with `backprop-tui THIS_FILE.toml`.",
        f"scenario = {_string(scenario)}",
    ]
    if lesson.bug:
        out.append(f"bug = {_string(lesson.bug)}")
    out.append(f"dtype = {_string(lesson.dtype)}")
    if lesson.start is not None:
        out.append(f"start = {lesson.start + 1}")
    out.append(f"view = {_string(lesson.view)}")
    out.append(f"quiz = {'true' if lesson.quiz else 'false'}")
    if lesson.mystery:
        out.append("mystery = true")
    if lesson.values:
        out += ["", "# leaf values that differ from the scenario file", "[values]"]
        out += [f"{_key(name)} = {_array(value)}" for name, value in lesson.values.items()]
    for mark in lesson.bookmarks:
        out += ["", "[[bookmarks]]", f"step = {mark.step + 1}", f"note = {_string(mark.note)}"]
    return "\n".join(out) + "\n"


def save(
    lesson: Lesson, path: str | Path, *, replace: bool = False, protected: Iterable[str | Path] = ()
) -> Path:
    """Write the lesson to the typed ``path`` (``.toml`` added or put in place of another suffix),
    whole or not at all (``saving.py``). An existing file is replaced only with ``replace``: a
    hand-written lesson, comments and all, is not lost to a slip. Raises ``SaveRefusedError`` (an
    ``OSError``) saying why a path is refused: a folder, a FIFO, a ``.py``, a file in ``protected``
    (the open scenario's), an existing file without ``replace``."""
    from tui_backprop.teach.saving import SaveRefusedError, save_target, write_atomically

    target = save_target(str(path), suffix=SUFFIX, protected=protected)
    if target.exists and not replace:
        raise SaveRefusedError(f"{shown(str(target.path))} exists: choose another name, or replace it")
    return write_atomically(target, dumps(lesson, target.path.parent))


def _string(text: str) -> str:
    escaped = []
    for ch in text:
        if ch in '"\\':
            escaped.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            escaped.append(f"\\u{ord(ch):04x}")
        else:
            escaped.append(ch)
    return '"' + "".join(escaped) + '"'


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else _string(name)


def _array(value: Array) -> str:
    a = np.asarray(value, dtype=np.float64)
    if a.ndim == 0:
        x = float(a)
        assert math.isfinite(x)
        return repr(x)
    return "[" + ", ".join(_array(row) for row in a) + "]"
