"""The command line: ``list``, ``check`` and ``trace`` run headless; anything else opens the app.

Exit codes: 0 every node ok (kinks allowed); 1 a mismatch or a non-finite value; 2 bad usage or a
scenario that cannot be loaded, built or run. ``list``, ``check`` and ``trace`` never import
textual, so they start fast.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from tui_backprop.guard import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    Stdio,
    exits_refused,
    is_user_fault,
    own_stdio,
    printable,
    real_exit,
    real_interrupt,
    report_interrupt,
    sigint_marked,
    silence,
)

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
COMMANDS = ("list", "check", "trace", "serve")
DTYPES = ("float32", "float64")


class UsageError(Exception):
    """Bad usage: argparse's message, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, not {text}")
    return value


def _step(text: str) -> float:
    value = _number(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be a positive number at most 1, not {text}")
    return value


def _relative(text: str) -> float:
    value = _number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(
            f"must be at least 0 and below 1 (a relative tolerance of 1 accepts any gradient), not {text}"
        )
    return value


def _absolute(text: str) -> float:
    value = _number(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be zero or more, not {text}")
    return value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text}")
    return value


RESOLUTION = {"float32": 2.0**-23, "float64": 2.0**-52}
"""Machine epsilon of each dtype: a finite-difference step at or below it vanishes in x ± eps."""


def _settings_problem(args: argparse.Namespace) -> str | None:
    """What the per-dtype limits refuse in otherwise valid settings (a step the dtype cannot resolve)."""
    eps = getattr(args, "eps", None)
    if eps is not None and eps <= RESOLUTION[args.dtype]:
        return (
            f"argument --eps: {eps:g} is below what {args.dtype} can resolve "
            f"({RESOLUTION[args.dtype]:.1e}); x + eps would equal x"
        )
    return None


def build_parsers() -> dict[str, argparse.ArgumentParser]:
    app = _Parser(
        prog="backprop-tui",
        description="Step through backpropagation node by node, every gradient checked numerically.",
        epilog=(
            "commands:\n"
            "  backprop-tui list [--json]                      every scenario and its named bugs\n"
            "  backprop-tui check [SCENARIO ...] [options]     check gradients headless (exit 0/1/2)\n"
            "  backprop-tui trace SCENARIO [--format json|markdown]\n"
            "  backprop-tui serve [SCENARIO] [--host H] [--port P]  the app in a browser (needs [serve])\n"
            "run 'backprop-tui COMMAND -h' for a command's options."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    app.add_argument(
        "scenario", nargs="?", help="a built-in slug, a path to a .py scenario, or a lesson .toml"
    )
    _add_common(app)
    app.add_argument("--quiz", action="store_true", help="quiz mode: type the next value or gradient")

    listing = _Parser(prog="backprop-tui list", description="List every scenario with its named bugs.")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")

    check = _Parser(
        prog="backprop-tui check",
        description="Check every gradient against central finite differences. "
        "Exit 0 all ok (kinks allowed), 1 a mismatch or a non-finite value, 2 a scenario that cannot run.",
    )
    check.add_argument(
        "scenarios", nargs="*", metavar="SCENARIO", help="slugs or .py paths (default: every one)"
    )
    _add_common(check)
    check.add_argument("--eps", type=_step, help="finite-difference step (default: per dtype)")
    check.add_argument("--rtol", type=_relative, help="relative tolerance (default: per dtype)")
    check.add_argument("--atol", type=_absolute, help="absolute tolerance (default: per dtype)")
    check.add_argument(
        "--sample", type=_positive_int, metavar="K", help="probe K seeded random elements per larger tensor"
    )
    check.add_argument(
        "--exhaustive",
        action="store_true",
        help="per element everywhere: never verify a large tensor by random projections only",
    )
    check.add_argument("--json", action="store_true", help="print a JSON list, one trace object per scenario")

    trace = _Parser(prog="backprop-tui trace", description="Print the full trace of one scenario.")
    trace.add_argument("scenario", help="a built-in slug, a path to a .py scenario, or a lesson .toml")
    _add_common(trace)
    trace.add_argument("--format", choices=("json", "markdown"), default="json")
    serve = _Parser(
        prog="backprop-tui serve",
        description="Serve the app to web browsers (textual-serve; pip install 'backprop-tui[serve]'). "
        "Each browser connection gets its own copy of the app.",
    )
    serve.add_argument("scenario", nargs="?", help="a built-in slug, a .py scenario or a lesson .toml")
    _add_common(serve)
    serve.add_argument("--quiz", action="store_true", help="open every copy in quiz mode")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: this machine only)")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000)")
    serve.add_argument(
        "--public-url", metavar="URL", help="the URL browsers reach the server at (with --host 0.0.0.0)"
    )
    return {"app": app, "list": listing, "check": check, "trace": trace, "serve": serve}


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, not {text}")
    return value


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bug", metavar="NAME", help="switch on one of the scenario's named bugs")
    parser.add_argument("--dtype", choices=DTYPES, default="float64", help="float64 (default) or float32")


def main(argv: Sequence[str] | None = None, *, leave: bool = False) -> int:
    """Run one command and return its exit code; never raises, never prints a traceback.

    ``leave``: a headless command ends the process itself, at once after its output, before the
    scenario's streams are given back (so a thread of the scenario cannot print after our JSON).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parsers = build_parsers()
    command = argv[0] if argv and argv[0] in COMMANDS else "app"
    try:
        args = parsers[command].parse_args(argv[1:] if command != "app" else argv)
        problem = _settings_problem(args)
        if problem:
            parsers[command].error(problem)
    except UsageError as exc:
        return _usage(str(exc), parsers[command].prog)
    except SystemExit as exc:  # -h printed the help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if command == "app":
        return _open_app(args, parsers["app"].prog)
    if command == "serve":
        return cmd_serve(args)
    return _headless({"list": cmd_list, "check": cmd_check, "trace": cmd_trace}[command], args, leave)


def entry() -> None:
    """The console script: ``main``, then leave at once with its code.

    ``os._exit`` after flushing, so that nothing the scenario left behind can change the verdict or
    hang the process: an ``atexit`` hook calling ``os._exit(0)``, a thread that never ends.
    """
    code = main(leave=True)
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError, AttributeError):
            stream.flush()
    real_exit(code)


def _usage(message: str, prog: str) -> int:
    _say(sys.stderr, f"{printable(message)} (try '{prog} -h')")
    return EXIT_ERROR


def _say(stream: Any, line: str) -> None:
    """One line on a stream that may be closed or broken: losing it must not raise."""
    with suppress(OSError, ValueError, AttributeError):
        print(line, file=stream, flush=True)


def _error(stdio: Stdio, message: str) -> int:
    _say(stdio.err, f"backprop-tui: error: {printable(message)}")
    return EXIT_ERROR


def _headless(
    command: Callable[[argparse.Namespace, Stdio], int], args: argparse.Namespace, leave: bool = False
) -> int:
    """Run a headless command with our stdout kept from the scenario's code and Ctrl-C told apart;
    with ``leave``, end the process right there with the command's code."""
    with sigint_marked(), own_stdio() as stdio, exits_refused():
        code = _guarded(command, args, stdio)
        if leave:
            for stream in (stdio.out, stdio.err):
                with suppress(OSError, ValueError):
                    stream.flush()
            real_exit(code)
        return code


def _guarded(
    command: Callable[[argparse.Namespace, Stdio], int], args: argparse.Namespace, stdio: Stdio
) -> int:
    try:
        return command(args, stdio)
    except BrokenPipeError:  # `| head` closed our stdout: stop quietly, as Unix tools do
        silence(stdio.out)
        return EXIT_BROKEN_PIPE
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt) and real_interrupt():
            report_interrupt(stdio.err)
            return EXIT_INTERRUPTED
        return _error(stdio, _unexpected(exc))


def _unexpected(exc: BaseException) -> str:
    """One line for an exception no layer below turned into a ScenarioError."""
    from tui_backprop.errors import describe_exception, origin_of_exception

    origin = origin_of_exception(exc)
    if origin is not None:
        return f"{origin}: the scenario's code failed: {describe_exception(exc)}"
    return f"internal error: {describe_exception(exc)} (please report it)"


# ---------------------------------------------------------------- the app
def _open_app(args: argparse.Namespace, prog: str) -> int:
    """Open the app, but only for a word that names something, and only on a terminal."""
    if args.scenario is not None:
        problem = _scenario_word_problem(args.scenario)
        if problem:
            return _usage(f"{prog}: error: {problem}", prog)
    if not os.environ.get("TEXTUAL_DRIVER"):  # textual-serve runs the app over pipes with its own driver
        for name, stream in (("stdout", sys.stdout), ("stdin", sys.stdin)):
            if not _is_terminal(stream):
                _say(
                    sys.stderr,
                    f"backprop-tui: error: the app needs a terminal and {name} is not one; "
                    "for output to a file or a pipe use 'backprop-tui check SCENARIO' "
                    "or 'backprop-tui trace SCENARIO'",
                )
                return EXIT_ERROR
    from tui_backprop.app.app import main as run_app

    return run_app(args.scenario, args.bug, args.dtype, args.quiz)


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


PLUGIN_GROUP = "tui_backprop.scenarios"
"""``scenarios.ENTRY_POINT_GROUP``, repeated so checking a word does not import numpy."""


def _scenario_word_problem(word: str) -> str | None:
    """Why the app's argument names nothing it could open (None: a slug, or a usable file)."""
    from tui_backprop.guard import ScenarioFileError, scenario_source, shown

    if word.endswith(".toml"):  # a lesson: read and checked when it opens (README "Lesson files")
        return None if os.path.isfile(os.path.expanduser(word)) else f"no such lesson file: {word}"
    is_path = word.endswith(".py") or "/" in word or os.sep in word or word.startswith("~")
    slugs = [] if is_path else _known_slugs()
    if word in slugs:
        return None
    if is_path or os.path.lexists(word):
        try:
            scenario_source(word)
        except ScenarioFileError as exc:
            return str(exc)
        return None
    return (
        f"unknown command or scenario {shown(word)!r}: the commands are {', '.join(COMMANDS)}; "
        f"the scenarios {', '.join(slugs)}; or give a path to a .py file"
    )


def _known_slugs() -> list[str]:
    from importlib.metadata import entry_points

    try:
        from tui_backprop.builtin import ORDER
    except ImportError:  # running from a source tree that is not installed
        from tui_backprop.scenarios import builtin_names

        ORDER = builtin_names()
    slugs = [name.replace("_", "-") for name in ORDER]
    with suppress(Exception):  # broken metadata: the picker and `list` report it
        slugs += [entry.name for entry in entry_points(group=PLUGIN_GROUP)]
    return slugs


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

    from tui_backprop.scenarios import catalog

    found = catalog()
    _report_problems(stdio, found.problems)
    if args.json:
        payload = [
            {
                "slug": s.slug,
                "title": s.title,
                "description": s.description,
                "source": s.source,
                "bugs": [{"name": name, "description": text} for name, text in s.bugs.items()],
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
            Text.assemble((name, "magenta"), ": ", text) for name, text in s.bugs.items()
        ) or Text("-")
        table.add_row(Text(s.slug), Text.assemble((s.title, "bold"), "\n", s.description), bugs)
        table.add_row("", "", "")
    _console(stdio).print(table)
    return EXIT_OK


# ---------------------------------------------------------------- check and trace
def _run(
    spec: str, bug: str | None, dtype: str, args: argparse.Namespace, stdio: Stdio | None = None
) -> tuple[Any, Any, Any]:
    """Load, build, run and check one scenario. Raises ScenarioError, and nothing else of the
    scenario's own (its SystemExit or KeyboardInterrupt during the check included)."""
    from tui_backprop.gradcheck import CheckSettings
    from tui_backprop.scenarios import load, trace_scenario

    scenario = load(spec)
    trace = trace_scenario(scenario, bug, dtype)
    settings = CheckSettings.for_dtype(
        dtype,
        eps=getattr(args, "eps", None),
        rtol=getattr(args, "rtol", None),
        atol=getattr(args, "atol", None),
        sample=getattr(args, "sample", None),
        exhaustive=getattr(args, "exhaustive", False),
        lean=stdio is not None,  # the text table: per-element arrays only where there is something to show
    )
    return scenario, trace, _checked(trace, settings, stdio.err if stdio is not None else None, spec)


def _run_lesson(spec: str, args: argparse.Namespace, stdio: Stdio | None = None) -> tuple[Any, Any, Any, Any]:
    """``check lesson.toml``: the lesson's scenario run with its values, checked with the given settings."""
    from pathlib import Path

    from tui_backprop.gradcheck import CheckSettings
    from tui_backprop.lesson import load

    lesson, scenario, trace = load(Path(spec))
    settings = CheckSettings.for_dtype(
        lesson.dtype,
        eps=getattr(args, "eps", None),
        rtol=getattr(args, "rtol", None),
        atol=getattr(args, "atol", None),
        sample=getattr(args, "sample", None),
        exhaustive=getattr(args, "exhaustive", False),
        lean=stdio is not None,
    )
    return (
        scenario,
        trace,
        _checked(trace, settings, stdio.err if stdio is not None else None, spec),
        lesson.bug,
    )


def _checked(trace: Any, settings: Any, progress: Any = None, label: str = "check") -> Any:
    """The check of a trace; the scenario's own SystemExit or KeyboardInterrupt raised while its code
    is probed becomes a ScenarioError naming its line."""
    from tui_backprop.errors import ScenarioError, describe_exception, origin_of_exception
    from tui_backprop.progress import check_with_progress

    try:
        return check_with_progress(trace, settings, progress, label)
    except BaseException as exc:
        if not is_user_fault(exc) or isinstance(exc, ScenarioError):
            raise
        origin = origin_of_exception(exc)
        if origin is None:
            raise  # not the scenario's code: an internal error, reported as such by _headless
        raise ScenarioError(f"the check failed: {describe_exception(exc)}", origin) from exc


def cmd_check(args: argparse.Namespace, stdio: Stdio) -> int:
    from tui_backprop.errors import ScenarioError
    from tui_backprop.export import trace_json
    from tui_backprop.scenarios import catalog

    code = EXIT_OK
    results: list[dict[str, Any]] = []
    specs = args.scenarios
    if not specs:
        found = catalog()
        specs = [s.slug for s in found.scenarios]
        for problem in found.problems:  # a plugin that cannot load is a scenario that cannot run
            code = EXIT_ERROR
            _error(stdio, str(problem))
            results.append(_error_entry(problem.scenario or "", problem))
    console = None if args.json else _console(stdio)
    for spec in specs:
        bug = args.bug
        try:
            if spec.endswith(".toml"):  # a lesson: its scenario, bug, dtype and values
                scenario, trace, result, bug = _run_lesson(spec, args, None if args.json else stdio)
            else:
                scenario, trace, result = _run(spec, args.bug, args.dtype, args, None if args.json else stdio)
        except ScenarioError as exc:
            code = EXIT_ERROR
            _error(stdio, str(exc))
            results.append(_error_entry(spec, exc))
            continue
        if result.failed and code == EXIT_OK:
            code = EXIT_FAIL
        if args.json:
            results.append(trace_json(scenario, bug, trace, result))
        else:
            _print_check(console, scenario, bug, trace, result)
    if args.json:
        _dump_json(stdio, results)
    return code


def _error_entry(spec: str, exc: Any) -> dict[str, Any]:
    return {"scenario": spec, "error": exc.message, "origin": str(exc.origin) if exc.origin else None}


STATUS_STYLE = {
    "ok": ("✓", "green"),
    "kink": ("~", "yellow"),
    "mismatch": ("✗", "bold red"),
    "nonfinite": ("!", "bold magenta"),
    "unchecked": ("·", "dim"),
    "nondeterministic": ("?", "bold yellow"),
}


def _print_check(console: Any, scenario: Any, bug: str | None, trace: Any, result: Any) -> None:
    """The check as a table; every user string (names, titles, formulas, messages) goes in as Text."""
    from rich import box
    from rich.table import Table
    from rich.text import Text

    from tui_backprop.export import short

    settings = result.settings
    title = Text.assemble((scenario.slug, "bold"), "  ", scenario.title)
    if bug:
        title.append(f"  bug: {bug}", style="magenta")
    caption = Text(
        f"{trace.graph.dtype_name}  eps {settings.eps:g}  rtol {settings.rtol:g}  "
        f"atol {settings.atol:g}  output {trace.output.name} = {trace.loss:.6g}"
    )
    table = Table(
        title=title,
        title_justify="left",
        caption=caption,
        caption_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column("node", no_wrap=True)
    table.add_column("op", no_wrap=True)
    table.add_column("shape", no_wrap=True)
    table.add_column("dL/dnode", justify="right", no_wrap=True, overflow="ellipsis", max_width=18)
    table.add_column("max rel err", justify="right", no_wrap=True)
    table.add_column("status", no_wrap=True)
    for node in trace.graph.nodes:
        nc = result.nodes[node.name]
        symbol, style = STATUS_STYLE[nc.status]
        status = Text(f"{symbol} {nc.status}", style=style)
        if nc.blamed:
            status.append(" ◀ blamed", style="bold red")
        err = f"{nc.grad.max_rel_err:.1e}" if nc.grad is not None else "-"
        if nc.blamed and nc.local:  # the local error is what blamed it
            err = f"{max(c.max_rel_err for c in nc.local.values()):.1e} local"
        table.add_row(
            Text(node.name, style="bold red" if nc.blamed else ""),
            Text(node.op.name if node.op else node.kind),
            "x".join(map(str, trace.values[node.name].shape)) or "()",
            short(trace.grads[node.name], 3),
            err,
            status,
        )
    console.print(table)
    for name in result.blame:
        nc = result.nodes[name]
        node = trace.graph[name]
        why = nc.note or "its backward rule disagrees with finite differences"
        wrong = [(i, node.inputs[i].name, c) for i, c in nc.local.items() if c.status == "mismatch"]
        for _, parent, c in wrong:
            why += f"; sends {parent} a gradient off by up to {c.max_rel_err:.1e} (relative)"
        console.print(Text.assemble((f"✗ blamed: {name}", "bold red"), f"  {node.formula()}: {why}"))
        for position, parent, c in wrong:
            if position in nc.diagnosis:
                console.print(Text.assemble("  → ", (f"{parent}: {nc.diagnosis[position]}", "bold")))
            console.print(differing_table(f"d{name}→{parent}", c))
    for name, nc in result.nodes.items():
        if nc.status == "nonfinite" and not nc.blamed:
            console.print(Text.assemble((f"! non-finite at {name}", "bold magenta"), f": {nc.note}"))
    for name, nc in result.nodes.items():
        if nc.status == "nondeterministic":
            console.print(Text.assemble((f"? {name}", "bold yellow"), f": {nc.note}"))
    for warning in trace.graph.warnings:
        console.print(Text.assemble(("⚠ warning", "bold yellow"), f": {warning}"))
    for line in unchecked_lines(trace, result):
        console.print(Text.assemble(("· unchecked", "dim"), f" {line}"))
    projected = projected_lines(trace, result)
    if projected:
        console.print(
            Text.assemble(
                ("≈ projection", "cyan"),
                " verified as a whole by random directions, wrong elements searched by halving"
                f" (--exhaustive checks every element): {', '.join(projected)}",
            )
        )
    counts = "  ".join(f"{result.count(s)} {s}" for s in STATUS_STYLE if result.count(s))
    if result.n_unjudged:
        counts += f"  ({result.n_unjudged} element(s) could not be judged)"
    verdict = Text("FAIL", style="bold red") if result.failed else Text("PASS", style="bold green")
    console.print(Text.assemble(verdict, f"  {counts}\n"))


def projected_lines(trace: Any, result: Any) -> list[str]:
    """``s (what it sends to x, 4 directions)``: comparisons verified by projections, not per element."""
    found = []
    for node in trace.graph.nodes:
        nc = result.nodes.get(node.name)
        if nc is None:
            continue
        if nc.grad is not None and nc.grad.method == "projection":
            found.append(f"dL/d{node.name} ({nc.grad.directions} directions)")
        for i, c in nc.local.items():
            if c.method == "projection":
                found.append(
                    f"{node.name} (what it sends to {node.inputs[i].name}, {c.directions} directions)"
                )
    return found


LISTED = 5
"""Differing elements listed per blamed input in `check`'s text; the rest are counted."""


def differing_table(label: str, c: Any) -> Any:
    """The first mismatching elements of what a blamed node sends: index, analytic, numeric, ratio."""
    import numpy as np
    from rich import box
    from rich.table import Table

    mismatches = c.differing()[: c.n_mismatch]
    table = Table(box=box.SIMPLE, pad_edge=False, show_edge=False, header_style="dim")
    table.add_column(f"  {label}", no_wrap=True)
    for heading in ("analytic", "numeric", "ratio"):
        table.add_column(heading, justify="right", no_wrap=True)
    for index in mismatches[:LISTED]:
        a, n = float(c.analytic[index]), float(c.numeric[index])
        ratio = f"{a / n:.4g}" if n != 0 and np.isfinite(n) else "-"
        table.add_row(f"  {list(index)}", f"{a:.6g}", f"{n:.6g}", ratio)
    if len(mismatches) > LISTED:
        table.add_row(f"  … {len(mismatches) - LISTED} more", "", "", "")
    return table


def unchecked_lines(trace: Any, result: Any) -> list[str]:
    """One line per comparison with elements that were probed but could not be judged."""
    lines = []
    for node in trace.graph.nodes:
        nc = result.nodes.get(node.name)
        if nc is None:
            continue
        parts = [("dL/d" + node.name, nc.grad)] if nc.grad is not None else []
        parts += [(f"what it sends to {node.inputs[i].name}", c) for i, c in nc.local.items()]
        for what, c in parts:
            for reason, count in c.reasons.items():
                lines.append(f"{node.name}: {count} element(s) of {what} could not be judged: {reason}")
    return lines


def cmd_trace(args: argparse.Namespace, stdio: Stdio) -> int:
    from tui_backprop.errors import ScenarioError
    from tui_backprop.export import trace_json, trace_markdown

    if args.scenario.endswith(".toml"):
        return _trace_lesson(args, stdio)
    try:
        scenario, trace, result = _run(args.scenario, args.bug, args.dtype, args)
    except ScenarioError as exc:
        return _error(stdio, str(exc))
    if args.format == "json":
        _dump_json(stdio, trace_json(scenario, args.bug, trace, result))
    else:
        _print_text(stdio, trace_markdown(scenario, args.bug, trace, result))
    return EXIT_FAIL if result.failed else EXIT_OK


def _print_text(stdio: Stdio, text: str) -> None:
    """Text on our stdout; characters its encoding lacks become ``?`` instead of an error."""
    encoding = getattr(stdio.out, "encoding", None) or "utf-8"
    print(text.encode(encoding, "replace").decode(encoding), end="", file=stdio.out)
    stdio.out.flush()


def cmd_serve(args: argparse.Namespace) -> int:
    """Check the scenario or lesson opens here (one line and exit 2 if not), then serve it."""
    from tui_backprop.serve import serve

    if args.scenario:
        code = _headless(_serve_check, args)
        if code != EXIT_OK:
            return code
    return serve(args.scenario, args.host, args.port, args.bug, args.dtype, args.quiz, args.public_url)


def _serve_check(args: argparse.Namespace, stdio: Stdio) -> int:
    from pathlib import Path

    from tui_backprop.errors import ScenarioError

    try:
        if args.scenario.endswith(".toml"):
            from tui_backprop.lesson import load

            load(Path(args.scenario))
        else:
            from tui_backprop.scenarios import build, load

            build(load(args.scenario), args.bug, args.dtype)
    except ScenarioError as exc:
        return _error(stdio, str(exc))
    return EXIT_OK


def _trace_lesson(args: argparse.Namespace, stdio: Stdio) -> int:
    """``trace lesson.toml``: the lesson's scenario, bug, dtype and values; Markdown shows its bookmarks."""
    from pathlib import Path

    from tui_backprop.errors import ScenarioError
    from tui_backprop.export import array, trace_json, trace_markdown
    from tui_backprop.gradcheck import CheckSettings
    from tui_backprop.lesson import load

    try:
        lesson, scenario, trace = load(Path(args.scenario))
        result = _checked(trace, CheckSettings.for_dtype(lesson.dtype))
    except ScenarioError as exc:
        return _error(stdio, str(exc))
    if args.format == "json":
        payload = trace_json(scenario, lesson.bug, trace, result)
        payload["lesson"] = {
            "file": str(lesson.path),
            "bookmarks": [{"step": b.step, "note": b.note} for b in lesson.bookmarks],
            "values": {name: array(value) for name, value in lesson.values.items()},
        }
        _dump_json(stdio, payload)
    else:
        steps = sorted({b.step for b in lesson.bookmarks}) or None
        notes: dict[int, str] = {}
        for mark in lesson.bookmarks:
            notes[mark.step] = f"{notes[mark.step]} · {mark.note}" if mark.step in notes else mark.note
        _print_text(stdio, trace_markdown(scenario, lesson.bug, trace, result, steps, notes, lesson.values))
    return EXIT_FAIL if result.failed else EXIT_OK


if __name__ == "__main__":
    entry()
