"""The headless commands ``list``, ``check`` and ``trace``, and their output on our own stdout.

They never import textual (README, "Command line"), so they start fast.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from contextlib import suppress
from typing import Any

from tui_backprop.cli.report import print_check
from tui_backprop.core.sandbox import Stdio, is_user_fault, printable

EXIT_OK, EXIT_FAIL, EXIT_ERROR, EXIT_INCOMPLETE = 0, 1, 2, 3
EXIT_RANK = (EXIT_OK, EXIT_INCOMPLETE, EXIT_FAIL, EXIT_ERROR)
"""Over several scenarios the worst code wins: an error, else a mismatch, else incomplete (README)."""


def exit_code(result: Any) -> int:
    """0 every element compared or covered, no mismatch; 1 a failure; 3 incomplete (README)."""
    return {"fail": EXIT_FAIL, "incomplete": EXIT_INCOMPLETE}.get(result.verdict, EXIT_OK)


def _worse(code: int, other: int) -> int:
    return max(code, other, key=EXIT_RANK.index)


def _say(stream: Any, line: str) -> None:
    """One line on a stream that may be closed or broken: losing it must not raise."""
    with suppress(OSError, ValueError, AttributeError):
        print(line, file=stream, flush=True)


def _error(stdio: Stdio, message: str) -> int:
    _say(stdio.err, f"backprop-tui: error: {printable(message)}")
    return EXIT_ERROR


def _console(stdio: Stdio) -> Any:
    """Rich on our real stdout; markup and emoji codes off, so no user string is ever parsed."""
    from rich.console import Console

    options = {"file": stdio.out, "highlight": False, "soft_wrap": False, "markup": False, "emoji": False}
    console = Console(**options)
    if not console.is_terminal:  # CI logs and pipes: Rich's 80 columns would cut node names
        console = Console(**options, width=max(console.width, 120))
    return console


def _dump_json(stdio: Stdio, payload: Any) -> None:
    """JSON on our stdout: non-ASCII kept when the stream can encode it, escaped when it cannot."""
    text = json.dumps(payload, indent=2, ensure_ascii=False)
    encoding = getattr(stdio.out, "encoding", None) or "utf-8"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(payload, indent=2, ensure_ascii=True)
    print(text, file=stdio.out)
    stdio.out.flush()


def _report_problems(stdio: Stdio, problems: list[Any]) -> None:
    for problem in problems:
        _error(stdio, str(problem))


# ---------------------------------------------------------------- list
def cmd_list(args: argparse.Namespace, stdio: Stdio) -> int:
    from rich.table import Table
    from rich.text import Text

    from tui_backprop.core.scenarios import catalog
    from tui_backprop.teach.mystery import public_bugs

    found = catalog()
    _report_problems(stdio, found.problems)
    if args.json:
        payload = [
            {
                "slug": s.slug,
                "title": s.title,
                "description": s.description,
                "source": s.source,
                "bugs": [{"name": name, "description": text} for name, text in public_bugs(s, args.mystery)],
            }
            for s in found.scenarios
        ]
        _dump_json(stdio, payload)
        return EXIT_OK
    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("scenario", style="bold cyan", no_wrap=True)
    table.add_column("what it is")
    table.add_column("named bugs (--bug NAME)")
    for s in found.scenarios:
        bugs = Text("\n").join(
            Text.assemble((name, "magenta"), *((": ", text) if text else ()))
            for name, text in public_bugs(s, args.mystery)
        ) or Text("-")
        table.add_row(Text(s.slug), Text.assemble((s.title, "bold"), "\n", s.description), bugs)
        table.add_row("", "", "")
    _console(stdio).print(table)
    return EXIT_OK


# ---------------------------------------------------------------- check and trace
def _run(
    spec: str, bug: str | None, dtype: str, args: argparse.Namespace, stdio: Stdio | None = None
) -> tuple[Any, Any, Any, str | None]:
    """Load, build, run and check one scenario; the bug may be given by name or as ``bug N``.
    Raises ScenarioError, and nothing else of the scenario's own (its SystemExit or
    KeyboardInterrupt during the check included)."""
    from tui_backprop.core.scenarios import trace_scenario
    from tui_backprop.teach.mystery import resolve_bug

    scenario = scenario_loader(args)(spec)
    bug = resolve_bug(scenario, bug, getattr(args, "mystery", False))
    trace = trace_scenario(scenario, bug, dtype)
    settings = _settings(dtype, args, stdio)
    return scenario, trace, _checked(trace, settings, stdio.err if stdio is not None else None, spec), bug


def scenario_loader(args: argparse.Namespace) -> Callable[[str], Any]:
    """What loads a scenario by its spec: a slug or a path, or the ``--torch`` target by its text
    (README, "From PyTorch and JAX"); the app is handed the same, so it opens what ``check`` checks."""
    target, shapes = getattr(args, "torch", None), list(getattr(args, "input_shape", None) or [])

    def load(spec: str) -> Any:
        if target is not None and spec == target:
            from tui_backprop.interop.targets import target_scenario

            return target_scenario(target, shapes)
        from tui_backprop.core.scenarios import load as load_spec

        return load_spec(spec)

    return load


def _settings(dtype: str, args: argparse.Namespace, stdio: Stdio | None) -> Any:
    """The check's settings from the command line's; lean for the text table (``stdio`` given):
    per-element arrays only where there is something to show."""
    from tui_backprop.check.gradcheck import CheckSettings

    return CheckSettings.for_dtype(
        dtype,
        eps=getattr(args, "eps", None),
        rtol=getattr(args, "rtol", None),
        atol=getattr(args, "atol", None),
        sample=getattr(args, "sample", None),
        exhaustive=getattr(args, "exhaustive", False),
        lean=stdio is not None,
    )


def _lesson(spec: str, args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """A lesson with ``--bug`` and ``--dtype``, when typed, over its own (README "Lesson files")."""
    from pathlib import Path

    from tui_backprop.cli.args import RESOLUTION
    from tui_backprop.teach.lesson import LessonError, load

    lesson, scenario, trace = load(Path(spec), bug=args.bug, dtype=args.dtype if args.dtype_given else None)
    eps = getattr(args, "eps", None)
    if eps is not None and eps <= RESOLUTION[lesson.dtype]:  # the lesson's dtype, not the default's
        raise LessonError(
            f"--eps {eps:g} is below what {lesson.dtype} (the lesson's dtype) can resolve "
            f"({RESOLUTION[lesson.dtype]:.1e}); x + eps would equal x"
        )
    return lesson, scenario, trace


def _run_lesson(
    spec: str, args: argparse.Namespace, stdio: Stdio | None = None
) -> tuple[Any, Any, Any, Any, bool]:
    """``check lesson.toml``: the lesson's scenario run with its values, checked with the given
    settings; and whether the lesson asks for mystery-bug mode."""
    lesson, scenario, trace = _lesson(spec, args)
    settings = _settings(lesson.dtype, args, stdio)
    return (
        scenario,
        trace,
        _checked(trace, settings, stdio.err if stdio is not None else None, spec),
        lesson.bug,
        lesson.mystery,
    )


def _checked(trace: Any, settings: Any, progress: Any = None, label: str = "check") -> Any:
    """The check of a trace; the scenario's own SystemExit or KeyboardInterrupt raised while its code
    is probed becomes a ScenarioError naming its line."""
    from tui_backprop.cli.progress import check_with_progress
    from tui_backprop.core.errors import ScenarioError, describe_exception, origin_of_exception

    try:
        return check_with_progress(trace, settings, progress, label)
    except BaseException as exc:
        if not is_user_fault(exc) or isinstance(exc, ScenarioError):
            raise
        origin = origin_of_exception(exc)
        if origin is None:
            raise  # not the scenario's code: an internal error, reported as such by _headless
        raise ScenarioError(f"the check failed: {describe_exception(exc)}", origin) from exc


def public_json(scenario: Any, bug: str | None, trace: Any, result: Any, mystery: bool) -> dict[str, Any]:
    """The JSON trace with the bug as the mode may name it: ``"bug": "bug 1"`` and ``"mystery": true``
    in mystery-bug mode (README, "Teaching with it")."""
    from tui_backprop.check.export import trace_json
    from tui_backprop.teach.mystery import bug_label

    payload = trace_json(scenario, bug, trace, result)
    if mystery:
        payload["bug"] = bug_label(scenario, bug, mystery)
        payload["mystery"] = True
    return payload


def cmd_check(args: argparse.Namespace, stdio: Stdio) -> int:
    from tui_backprop.cli import junit
    from tui_backprop.cli.report import check_text
    from tui_backprop.core.errors import ScenarioError
    from tui_backprop.core.scenarios import catalog
    from tui_backprop.teach.mystery import bug_label

    code = EXIT_OK
    results: list[dict[str, Any]] = []
    cases: list[junit.Case] = []
    specs = list(args.scenarios) + ([args.torch] if args.torch else [])
    if not specs:
        found = catalog()
        specs = [s.slug for s in found.scenarios]
        for problem in found.problems:  # a plugin that cannot load is a scenario that cannot run
            code = EXIT_ERROR
            _error(stdio, str(problem))
            results.append(_error_entry(problem.scenario or "", problem))
            cases.append(junit.error_case(problem.scenario or "", args.bug, args.dtype, str(problem), 0.0))
    console = None if args.json else _console(stdio)
    for spec in specs:
        mystery = args.mystery
        started = time.perf_counter()
        try:
            if spec.endswith(".toml"):  # a lesson: its scenario, bug, dtype, values and mode
                scenario, trace, result, bug, in_lesson = _run_lesson(
                    spec, args, None if args.json else stdio
                )
                mystery = mystery or in_lesson
            else:
                scenario, trace, result, bug = _run(
                    spec, args.bug, args.dtype, args, None if args.json else stdio
                )
        except ScenarioError as exc:
            code = EXIT_ERROR
            _error(stdio, str(exc))
            results.append(_error_entry(spec, exc))
            seconds = time.perf_counter() - started
            cases.append(junit.error_case(spec, args.bug, args.dtype, str(exc), seconds))
            continue
        code = _worse(code, exit_code(result))
        label = bug_label(scenario, bug, mystery)
        if args.json:
            results.append(public_json(scenario, bug, trace, result, mystery))
        else:
            print_check(console, scenario, label, trace, result)
        if args.junit_xml:
            entry = results[-1] if args.json else public_json(scenario, bug, trace, result, mystery)
            report = check_text(scenario, label, trace, result)
            cases.append(junit.checked_case(entry, report, time.perf_counter() - started))
    if args.json:
        _dump_json(stdio, results)
    if args.junit_xml:
        try:
            with open(args.junit_xml, "wb") as file:
                file.write(junit.junit_xml(cases))
        except OSError as exc:
            return _error(stdio, f"cannot write the JUnit XML to {args.junit_xml}: {exc.strerror or exc}")
    return code


def _error_entry(spec: str, exc: Any) -> dict[str, Any]:
    return {"scenario": spec, "error": exc.message, "origin": str(exc.origin) if exc.origin else None}


def cmd_trace(args: argparse.Namespace, stdio: Stdio) -> int:
    from tui_backprop.core.errors import ScenarioError
    from tui_backprop.teach.handout import trace_markdown, training_markdown

    if args.scenario.endswith(".toml"):
        return _trace_lesson(args, stdio)
    try:
        scenario, trace, result, bug = _run(args.scenario, args.bug, args.dtype, args)
        training = _training(args, scenario, trace)
    except ScenarioError as exc:
        return _trace_error(stdio, args, exc)
    if args.format == "json":
        payload = public_json(scenario, bug, trace, result, args.mystery)
        if training is not None:
            payload["training"] = training_json(training)
        _dump_json(stdio, payload)
    else:
        text = trace_markdown(scenario, bug, trace, result, mystery=args.mystery)
        if training is not None:
            text += training_markdown(training)
        _print_text(stdio, text)
    return exit_code(result)


def _trace_error(stdio: Stdio, args: argparse.Namespace, exc: Any) -> int:
    """A scenario that cannot run: its one line on stderr and, for JSON, its error object on stdout
    (README "Command line": JSON output has an entry for every scenario asked for)."""
    if args.format == "json":
        _dump_json(stdio, _error_entry(args.scenario, exc))
    return _error(stdio, str(exc))


def _training(args: argparse.Namespace, scenario: Any, trace: Any, start: Any = None) -> Any:
    """``trace --train N``: N update steps from the traced values (None without ``--train``).
    The scenario's ``LEARNING_RATE`` and ``accuracy`` are used; a broken one is a ScenarioError."""
    if not args.train:
        return None
    from tui_backprop.core.errors import ScenarioError
    from tui_backprop.teach.training import (
        Optimizer,
        Training,
        TrainingError,
        scenario_accuracy,
        scenario_learning_rate,
    )

    try:
        lr = args.lr if args.lr is not None else scenario_learning_rate(scenario.module)
        training = Training(
            trace.graph,
            trace.output,
            Optimizer(lr, args.momentum),
            start=start,
            accuracy=scenario_accuracy(scenario.module),
            first=trace,
        )
        training.run(args.train)
    except TrainingError as exc:
        raise ScenarioError(str(exc), None) from None
    return training


def training_json(training: Any) -> dict[str, Any]:
    from tui_backprop.teach.training import training_json as as_json

    return as_json(training)


def _print_text(stdio: Stdio, text: str) -> None:
    """Text on our stdout; characters its encoding lacks become ``?`` instead of an error."""
    encoding = getattr(stdio.out, "encoding", None) or "utf-8"
    print(text.encode(encoding, "replace").decode(encoding), end="", file=stdio.out)
    stdio.out.flush()


def _trace_lesson(args: argparse.Namespace, stdio: Stdio) -> int:
    """``trace lesson.toml``: the lesson's scenario, bug, dtype and values (``--bug`` and ``--dtype``
    over them when typed); Markdown shows its bookmarks."""
    from tui_backprop.check.export import array
    from tui_backprop.check.gradcheck import CheckSettings
    from tui_backprop.core.errors import ScenarioError
    from tui_backprop.teach.handout import trace_markdown, training_markdown

    try:
        lesson, scenario, trace = _lesson(args.scenario, args)
        result = _checked(trace, CheckSettings.for_dtype(lesson.dtype))
        training = _training(args, scenario, trace, lesson.values)
    except ScenarioError as exc:
        return _trace_error(stdio, args, exc)
    mystery = args.mystery or lesson.mystery
    if args.format == "json":
        payload = public_json(scenario, lesson.bug, trace, result, mystery)
        payload["lesson"] = {
            "file": str(lesson.path),
            "bookmarks": [{"step": b.step, "note": b.note} for b in lesson.bookmarks],
            "values": {name: array(value) for name, value in lesson.values.items()},
        }
        if training is not None:
            payload["training"] = training_json(training)
        _dump_json(stdio, payload)
    else:
        steps = sorted({b.step for b in lesson.bookmarks}) or None
        notes: dict[int, str] = {}
        for mark in lesson.bookmarks:
            notes[mark.step] = f"{notes[mark.step]} · {mark.note}" if mark.step in notes else mark.note
        text = trace_markdown(
            scenario, lesson.bug, trace, result, steps, notes, lesson.values, mystery=mystery
        )
        if training is not None:
            text += training_markdown(training)
        _print_text(stdio, text)
    return exit_code(result)
