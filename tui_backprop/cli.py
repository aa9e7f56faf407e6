"""The command line: ``list``, ``check`` and ``trace`` run headless; anything else opens the app.

Exit codes: 0 every node ok (kinks allowed); 1 a mismatch or a non-finite value; 2 bad usage or a
scenario that cannot be loaded, built or run. ``list``, ``check`` and ``trace`` never import
textual, so they start fast.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

EXIT_OK, EXIT_FAIL, EXIT_ERROR = 0, 1, 2
COMMANDS = ("list", "check", "trace", "serve")
DTYPES = ("float32", "float64")


class UsageError(Exception):
    """Bad usage: argparse's message, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{self.prog}: {message}")


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def _non_negative_float(text: str) -> float:
    value = float(text)
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be zero or more, not {text}")
    return value


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text}")
    return value


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
    app.add_argument("scenario", nargs="?", help="a built-in slug or a path to a .py scenario")
    _add_common(app)

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
    check.add_argument("--eps", type=_positive_float, help="finite-difference step (default: per dtype)")
    check.add_argument("--rtol", type=_non_negative_float, help="relative tolerance (default: per dtype)")
    check.add_argument("--atol", type=_non_negative_float, help="absolute tolerance (default: per dtype)")
    check.add_argument(
        "--sample", type=_positive_int, metavar="K", help="probe K seeded random elements per larger tensor"
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


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parsers = build_parsers()
    command = argv[0] if argv and argv[0] in COMMANDS else "app"
    try:
        args = parsers[command].parse_args(argv[1:] if command != "app" else argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        print(f"try '{parsers[command].prog} -h'", file=sys.stderr)
        return EXIT_ERROR
    if command == "app":
        from tui_backprop.app.app import main as run_app

        return run_app(args.scenario, args.bug, args.dtype)
    return {"list": cmd_list, "check": cmd_check, "trace": cmd_trace, "serve": cmd_serve}[command](args)


def _error(message: str) -> int:
    print(f"backprop-tui: error: {message}", file=sys.stderr)
    return EXIT_ERROR


def _console() -> Any:
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:  # CI logs and pipes: Rich's 80 columns would cut node names
        console = Console(highlight=False, soft_wrap=False, width=max(console.width, 120))
    return console


# ---------------------------------------------------------------- list
def cmd_list(args: argparse.Namespace) -> int:
    from tui_backprop.errors import ScenarioError
    from tui_backprop.scenarios import available

    try:
        found = available()
    except ScenarioError as exc:
        return _error(str(exc))
    if args.json:
        payload = [
            {
                "slug": s.slug,
                "title": s.title,
                "description": s.description,
                "source": s.source,
                "bugs": [{"name": name, "description": text} for name, text in s.bugs.items()],
            }
            for s in found
        ]
        print(json.dumps(payload, indent=2, ensure_ascii=False))
        return EXIT_OK
    from rich.table import Table

    table = Table(box=None, show_header=True, header_style="bold", pad_edge=False)
    table.add_column("scenario", style="bold cyan", no_wrap=True)
    table.add_column("what it is")
    table.add_column("named bugs (--bug NAME)")
    for s in found:
        bugs = "\n".join(f"[magenta]{name}[/]: {text}" for name, text in s.bugs.items()) or "-"
        table.add_row(s.slug, f"[bold]{s.title}[/]\n{s.description}", bugs)
        table.add_row("", "", "")
    _console().print(table)
    return EXIT_OK


# ---------------------------------------------------------------- check and trace
def _run(spec: str, bug: str | None, dtype: str, args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """Load, build, run and check one scenario. Raises ScenarioError."""
    from tui_backprop.gradcheck import CheckSettings, check
    from tui_backprop.scenarios import load, trace_scenario

    scenario = load(spec)
    trace = trace_scenario(scenario, bug, dtype)
    settings = CheckSettings.for_dtype(
        dtype,
        eps=getattr(args, "eps", None),
        rtol=getattr(args, "rtol", None),
        atol=getattr(args, "atol", None),
        sample=getattr(args, "sample", None),
    )
    return scenario, trace, check(trace, settings)


def cmd_check(args: argparse.Namespace) -> int:
    from tui_backprop.errors import ScenarioError
    from tui_backprop.export import trace_json
    from tui_backprop.scenarios import available

    try:
        specs = args.scenarios or [s.slug for s in available()]
    except ScenarioError as exc:
        return _error(str(exc))
    code = EXIT_OK
    results: list[dict[str, Any]] = []
    console = None if args.json else _console()
    for spec in specs:
        try:
            scenario, trace, result = _run(spec, args.bug, args.dtype, args)
        except ScenarioError as exc:
            code = EXIT_ERROR
            _error(str(exc))
            results.append(
                {"scenario": spec, "error": exc.message, "origin": str(exc.origin) if exc.origin else None}
            )
            continue
        if result.failed and code == EXIT_OK:
            code = EXIT_FAIL
        if args.json:
            results.append(trace_json(scenario, args.bug, trace, result))
        else:
            _print_check(console, scenario, args.bug, trace, result)
    if args.json:
        print(json.dumps(results, indent=2, ensure_ascii=False))
    return code


STATUS_STYLE = {
    "ok": ("✓", "green"),
    "kink": ("~", "yellow"),
    "mismatch": ("✗", "bold red"),
    "nonfinite": ("!", "bold magenta"),
    "unchecked": ("·", "dim"),
}


def _print_check(console: Any, scenario: Any, bug: str | None, trace: Any, result: Any) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from tui_backprop.export import short

    settings = result.settings
    title = f"[bold]{scenario.slug}[/]  {scenario.title}"
    if bug:
        title += f"  [magenta]bug: {bug}[/]"
    table = Table(
        title=title,
        title_justify="left",
        caption=f"{trace.graph.dtype_name}  eps {settings.eps:g}  rtol {settings.rtol:g}  "
        f"atol {settings.atol:g}  output {trace.output.name} = {trace.loss:.6g}",
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
        status = f"[{style}]{symbol} {nc.status}[/]"
        if nc.blamed:
            status += " [bold red]◀ blamed[/]"
        err = f"{nc.grad.max_rel_err:.1e}" if nc.grad is not None else "-"
        table.add_row(
            f"[bold red]{node.name}[/]" if nc.blamed else node.name,
            node.op.name if node.op else node.kind,
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
        wrong = [(node.inputs[i].name, c) for i, c in nc.local.items() if c.status == "mismatch"]
        for parent, c in wrong:
            why += f"; sends {parent} a gradient off by up to {c.max_rel_err:.1e} (relative)"
        console.print(f"[bold red]✗ blamed: {name}[/]  {node.formula()}: {why}")
    for name, nc in result.nodes.items():
        if nc.status == "nonfinite" and not nc.blamed:
            console.print(f"[bold magenta]! non-finite at {name}[/]: {nc.note}")
    for line in unchecked_lines(trace, result):
        console.print(f"[dim]· unchecked[/] {escape(line)}")
    counts = "  ".join(f"{result.count(s)} {s}" for s in STATUS_STYLE if result.count(s))
    if result.n_unjudged:
        counts += f"  ({result.n_unjudged} element(s) could not be judged)"
    verdict = "[bold red]FAIL[/]" if result.failed else "[bold green]PASS[/]"
    console.print(f"{verdict}  {counts}\n")


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


def cmd_trace(args: argparse.Namespace) -> int:
    from tui_backprop.errors import ScenarioError
    from tui_backprop.export import trace_json, trace_markdown

    if args.scenario.endswith(".toml"):
        return _trace_lesson(args)
    try:
        scenario, trace, result = _run(args.scenario, args.bug, args.dtype, args)
    except ScenarioError as exc:
        return _error(str(exc))
    if args.format == "json":
        print(json.dumps(trace_json(scenario, args.bug, trace, result), indent=2, ensure_ascii=False))
    else:
        print(trace_markdown(scenario, args.bug, trace, result), end="")
    return EXIT_FAIL if result.failed else EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Check the scenario or lesson opens here (one line and exit 2 if not), then serve it."""
    from pathlib import Path

    from tui_backprop.errors import ScenarioError
    from tui_backprop.serve import serve

    if args.scenario:
        try:
            if args.scenario.endswith(".toml"):
                from tui_backprop.lesson import load

                load(Path(args.scenario))
            else:
                from tui_backprop.scenarios import build, load

                build(load(args.scenario), args.bug, args.dtype)
        except ScenarioError as exc:
            return _error(str(exc))
    return serve(args.scenario, args.host, args.port, args.bug, args.dtype, public_url=args.public_url)


def _trace_lesson(args: argparse.Namespace) -> int:
    """``trace lesson.toml``: the lesson's scenario, bug, dtype and values; Markdown shows its bookmarks."""
    from pathlib import Path

    from tui_backprop.errors import ScenarioError
    from tui_backprop.export import array, trace_json, trace_markdown
    from tui_backprop.gradcheck import CheckSettings, check
    from tui_backprop.lesson import load

    try:
        lesson, scenario, trace = load(Path(args.scenario))
    except ScenarioError as exc:
        return _error(str(exc))
    result = check(trace, CheckSettings.for_dtype(lesson.dtype))
    if args.format == "json":
        payload = trace_json(scenario, lesson.bug, trace, result)
        payload["lesson"] = {
            "file": str(lesson.path),
            "bookmarks": [{"step": b.step, "note": b.note} for b in lesson.bookmarks],
            "values": {name: array(value) for name, value in lesson.values.items()},
        }
        print(json.dumps(payload, indent=2, ensure_ascii=False))
    else:
        steps = sorted({b.step for b in lesson.bookmarks}) or None
        notes: dict[int, str] = {}
        for mark in lesson.bookmarks:
            notes[mark.step] = f"{notes[mark.step]} · {mark.note}" if mark.step in notes else mark.note
        print(trace_markdown(scenario, lesson.bug, trace, result, steps, notes, lesson.values), end="")
    return EXIT_FAIL if result.failed else EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
