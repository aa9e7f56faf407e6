"""Finding, loading and building scenarios: built-ins, plugins and the author's own files.

A scenario is a module with a docstring (first line: title; the paragraph after: description), an
optional ``TITLE``/``DESCRIPTION``, an optional ``BUGS`` dict of named wrong backward rules, and
``build(g, bug=None)`` that adds nodes to the graph ``g`` and returns the output node. Anything
that goes wrong on the way becomes a ``ScenarioError`` naming the author's file and line.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from tui_backprop.core import guest
from tui_backprop.core.errors import ScenarioError, describe_exception, origin_of_exception
from tui_backprop.core.graph import Graph, GraphError, Node, Origin
from tui_backprop.core.sandbox import ScenarioFileError, is_user_fault, scenario_source, shown
from tui_backprop.core.trace import Trace, run

BUILTIN_PACKAGE = "tui_backprop.builtin"
ENTRY_POINT_GROUP = "tui_backprop.scenarios"


@dataclass(frozen=True)
class Scenario:
    slug: str
    title: str
    description: str
    source: str
    bugs: dict[str, str]
    module: ModuleType = field(repr=False, compare=False)
    kind: str = "builtin"
    """``builtin``, ``plugin`` or ``file``."""

    @property
    def spec(self) -> str:
        """What ``load`` takes to load this scenario again: its slug, or its file's path."""
        return self.source if self.kind == "file" else self.slug


def _builtin_package() -> ModuleType:
    """The installed ``tui_backprop.builtin`` package, or the source tree's ``scenarios/`` folder."""
    try:
        return importlib.import_module(BUILTIN_PACKAGE)
    except ModuleNotFoundError:
        init = Path(__file__).resolve().parents[2] / "scenarios" / "__init__.py"
        spec = importlib.util.spec_from_file_location(
            BUILTIN_PACKAGE, init, submodule_search_locations=[str(init.parent)]
        )
        assert spec is not None and spec.loader is not None
        package = importlib.util.module_from_spec(spec)
        sys.modules[BUILTIN_PACKAGE] = package
        spec.loader.exec_module(package)
        return package


def builtin_names() -> list[str]:
    """Module names of the built-ins, in the order the package lists them."""
    return list(_builtin_package().ORDER)


def slug_of(module_name: str) -> str:
    return module_name.rsplit(".", 1)[-1].replace("_", "-")


def describe(module: ModuleType, slug: str, kind: str) -> Scenario:
    """Read title, description and bugs off a scenario module, insisting on the contract."""
    source = getattr(module, "__file__", None) or module.__name__
    build = getattr(module, "build", None)
    if not callable(build):
        raise ScenarioError(
            "not a scenario: it defines no build(g, bug=None) function returning the output node",
            Origin(source, 1),
        )
    doc = inspect.cleandoc(module.__doc__ or "")
    paragraphs = [p.replace("\n", " ").strip() for p in doc.split("\n\n") if p.strip()]
    title = getattr(module, "TITLE", None) or (paragraphs[0] if paragraphs else slug)
    description = getattr(module, "DESCRIPTION", None) or (paragraphs[1] if len(paragraphs) > 1 else "")
    for label, text in (("TITLE", title), ("DESCRIPTION", description)):
        if not isinstance(text, str):
            raise ScenarioError(f"{label} must be a string, not {type(text).__name__}", Origin(source, 1))
    bugs = getattr(module, "BUGS", {}) or {}
    named = isinstance(bugs, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in bugs.items())
    if not named:
        raise ScenarioError("BUGS must be a dict of bug name to one-line description", Origin(source, 1))
    for label, text in (("TITLE", title), ("DESCRIPTION", description.replace("\n", " ")), *_bug_texts(bugs)):
        if not text.isprintable():  # shown in one line or one paragraph; never an escape to the terminal
            raise ScenarioError(
                f"{label} {text!r} holds a control character ("
                f"{'a line break, ' if label != 'DESCRIPTION' else ''}a tab, an escape): "
                "every view shows it as plain text",
                Origin(source, 1),
            )
    return Scenario(slug, title.rstrip("."), description, source, dict(bugs), module, kind)


def _bug_texts(bugs: dict[str, str]) -> list[tuple[str, str]]:
    return [
        (label, text)
        for name, words in bugs.items()
        for label, text in (("a bug name", name), ("BUGS", words))
    ]


def builtins() -> list[Scenario]:
    return [
        describe(importlib.import_module(f"{BUILTIN_PACKAGE}.{name}"), slug_of(name), "builtin")
        for name in builtin_names()
    ]


class Catalog(list[Scenario]):
    """Every scenario that could be listed (the list itself), and ``problems``: one error per plugin
    that could not. A list, so callers that only want the scenarios need not know about problems."""

    def __init__(self, scenarios: list[Scenario], problems: list[ScenarioError]) -> None:
        super().__init__(scenarios)
        self.problems = problems

    @property
    def scenarios(self) -> list[Scenario]:
        return list(self)


def plugins(problems: list[ScenarioError] | None = None) -> list[Scenario]:
    """Scenarios that installed packages register under the ``tui_backprop.scenarios`` group.

    A plugin that fails to import (or is not a scenario) is skipped; its error is appended to
    ``problems`` so the caller can report it in one line, and the others still work.
    """
    from importlib.metadata import entry_points  # here: it costs `check SLUG` a tenth of its start

    found: list[Scenario] = []
    taken = {slug_of(name) for name in builtin_names()}
    try:
        entries = list(entry_points(group=ENTRY_POINT_GROUP))
    except Exception as exc:  # broken package metadata somewhere on sys.path
        if problems is not None:
            problems.append(ScenarioError(f"cannot read the installed plugins: {describe_exception(exc)}"))
        return found
    for entry in entries:
        try:
            module = entry.load()
            if isinstance(module, str):
                module = importlib.import_module(module)
            if not isinstance(module, ModuleType):
                raise TypeError(f"the entry point names a {type(module).__name__}, not a module")
            scenario = describe(module, entry.name, "plugin")
        except BaseException as exc:
            if not is_user_fault(exc):
                raise
            if isinstance(exc, ScenarioError):
                error = ScenarioError(f"plugin scenario {entry.name!r}: {exc.message}", exc.origin)
            else:
                error = ScenarioError(
                    f"plugin scenario {entry.name!r} ({entry.value}) failed to import: "
                    f"{describe_exception(exc)}; skipped",
                    origin_of_exception(exc),
                )
            error.scenario = entry.name
            if problems is not None:
                problems.append(error)
            continue
        if scenario.slug in taken:
            if problems is not None:
                error = ScenarioError(
                    f"plugin scenario {entry.name!r} has the name of another scenario; skipped"
                )
                error.scenario = entry.name
                problems.append(error)
            continue
        taken.add(scenario.slug)
        found.append(scenario)
    return found


def catalog() -> Catalog:
    """Built-ins, then the plugins that import, with one error for each plugin that does not.
    A guest's process (``guest.py``) is offered the built-ins only."""
    problems: list[ScenarioError] = []
    if guest.active():
        return Catalog(builtins(), problems)
    return Catalog(builtins() + plugins(problems), problems)


def available() -> list[Scenario]:
    """Every scenario the picker, ``list`` and ``check`` offer: built-ins, then working plugins."""
    return list(catalog())


def load_file(path: Path) -> Scenario:
    """Import a scenario file afresh (a reload sees the file as it is now).

    The path is vetted first (``guard.scenario_source``): a FIFO, a directory, a binary or a symlink
    loop is refused in one line before anything could block.
    """
    refused = guest.refusal(path)
    if refused:
        raise ScenarioError(refused)
    try:
        path, _ = scenario_source(str(path))
    except ScenarioFileError as exc:
        raise ScenarioError(str(exc)) from None
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    module_name = f"tui_backprop_user_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ScenarioError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.parent)
    sys.path.insert(0, folder)
    _forget_siblings(path.parent)
    sys.modules[module_name] = module
    recursion_limit = sys.getrecursionlimit()
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        raise ScenarioError(
            f"syntax error: {exc.msg}", Origin(exc.filename or str(path), exc.lineno or 0)
        ) from exc
    except BaseException as exc:  # SystemExit and KeyboardInterrupt from the author's code too
        sys.modules.pop(module_name, None)
        if not is_user_fault(exc):
            raise
        raise ScenarioError(
            f"importing the scenario failed: {describe_exception(exc)}",
            origin_of_exception(exc) or Origin(str(path), 1),
        ) from exc
    finally:
        with suppress(ValueError):  # the author's code may have edited sys.path itself
            sys.path.remove(folder)
        if sys.getrecursionlimit() < recursion_limit:  # lowered at import: it would break us, not them
            sys.setrecursionlimit(recursion_limit)
    return describe(module, path.stem.replace("_", "-"), "file")


def _forget_siblings(folder: Path) -> None:
    """Drop modules imported from the scenario's folder so a reload picks up their edits too."""
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        with suppress(TypeError, ValueError, OSError, RuntimeError):  # an odd __file__ is not ours
            if isinstance(file, str) and file and Path(file).resolve().parent == folder:
                del sys.modules[name]


def source_files(scenario: Scenario) -> list[Path]:
    """The files a scenario is made of: its own, and the modules it imported from its folder.

    What live reload watches: saving any of them rebuilds the graph. A guest's process watches
    only the files it was served with.
    """
    if scenario.kind != "file":
        return [Path(scenario.source)]
    own = Path(scenario.source).resolve()
    files = {own}
    for module in list(sys.modules.values()):
        file = getattr(module, "__file__", None)
        with suppress(TypeError, ValueError, OSError, RuntimeError):
            if isinstance(file, str) and file.endswith(".py") and Path(file).resolve().parent == own.parent:
                files.add(Path(file).resolve())
    served = guest.active()
    return sorted(f for f in files if served is None or served.allows(f))


def looks_like_path(spec: str) -> bool:
    """A spec written as a path (``x.py``, ``dir/x``) is never taken for a slug."""
    return spec.endswith(".py") or "/" in spec or os.sep in spec or spec.startswith("~")


def load(spec: str) -> Scenario:
    """A scenario by slug (built-in or plugin) or by path to a ``.py`` file.

    A bare word that is a slug opens the scenario even when a file or folder of that name happens
    to be in the working directory; any other existing path is loaded as a file.
    """
    if looks_like_path(spec):
        return load_file(Path(spec))
    modules = {slug_of(name): name for name in builtin_names()}
    if spec in modules:  # only that one imported: `check SLUG` starts faster
        return describe(importlib.import_module(f"{BUILTIN_PACKAGE}.{modules[spec]}"), spec, "builtin")
    found = catalog()
    for scenario in found.scenarios:
        if scenario.slug == spec:
            return scenario
    if os.path.lexists(spec):
        return load_file(Path(spec))
    slugs = ", ".join(s.slug for s in found.scenarios)
    raise ScenarioError(f"unknown scenario {shown(spec)!r}; choose one of: {slugs}, or a path to a .py file")


def from_build(
    build: Callable[..., Node],
    *,
    slug: str | None = None,
    kind: str = "function",
    source: str | None = None,
    bugs: dict[str, str] | None = None,
) -> Scenario:
    """A scenario made of a ``build(g, bug=None)`` function rather than a module (the pytest helper,
    ``--torch``): its docstring serves as the module's would (title, then description)."""
    module = ModuleType(f"tui_backprop_build_{getattr(build, '__name__', 'build')}")
    module.__doc__ = inspect.getdoc(build)
    module.build = build  # type: ignore[attr-defined]
    module.BUGS = dict(bugs or {})  # type: ignore[attr-defined]
    with suppress(TypeError):
        source = source or inspect.getsourcefile(build)
    module.__file__ = source or module.__name__
    return describe(module, slug or getattr(build, "__name__", "build").replace("_", "-"), kind)


def as_scenario(thing: Scenario | ModuleType | str | os.PathLike[str] | Callable[..., Node]) -> Scenario:
    """A scenario from what a test has at hand: a scenario, a module, a slug or path, a build function."""
    if isinstance(thing, Scenario):
        return thing
    if isinstance(thing, ModuleType):
        return describe(thing, slug_of(thing.__name__), "module")
    if isinstance(thing, str | os.PathLike):
        return load(os.fspath(thing))
    if callable(thing):
        return from_build(thing)
    raise TypeError(f"not a scenario: {thing!r} (give a module, a path, a slug or a build function)")


def build(scenario: Scenario, bug: str | None = None, dtype: str = "float64") -> tuple[Graph, Node]:
    """Call the scenario's ``build`` on a fresh graph and return the graph and its output node."""
    if bug is not None and bug not in scenario.bugs:
        known = ", ".join(scenario.bugs) or "none"
        raise ScenarioError(f"{scenario.slug} has no bug named {bug!r} (its bugs: {known})")
    graph = Graph(dtype)
    fn = scenario.module.build
    try:
        takes_bug = len(inspect.signature(fn).parameters) >= 2
        output = fn(graph, bug) if takes_bug else fn(graph)
    except BaseException as exc:  # SystemExit and KeyboardInterrupt from the author's code too
        if not is_user_fault(exc):
            raise
        kind = "could not build the graph" if isinstance(exc, GraphError) else "build() failed"
        raise ScenarioError(
            f"{kind}: {describe_exception(exc)}",
            origin_of_exception(exc) or Origin(scenario.source, 1),
        ) from exc
    if not isinstance(output, Node) or output.graph is not graph:
        if inspect.iscoroutine(output):
            output.close()  # an `async def build`: no "never awaited" warning on top of our line
        got = type(output).__name__
        raise ScenarioError(
            f"build() must return the output node of the graph it was given, not {got}",
            Origin(scenario.source, fn.__code__.co_firstlineno),
        )
    return graph, output


def trace_scenario(scenario: Scenario, bug: str | None = None, dtype: str = "float64") -> Trace:
    """Build and run: the whole pipeline up to the check."""
    graph, output = build(scenario, bug, dtype)
    return run(graph, output)
