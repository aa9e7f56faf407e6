"""The command line: ``list``, ``check`` and ``trace`` run headless; anything else opens the app.

Exit codes (README): 0 every node ok (kinks allowed); 1 a mismatch, a non-finite value or a forward
that is not deterministic; 2 bad usage or a scenario that cannot be loaded, built or run; 3
incomplete (nothing wrong found, some elements unchecked). ``list``, ``check`` and ``trace`` never
import textual, so they start fast.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from contextlib import suppress
from typing import Any

from tui_backprop.cli.args import COMMANDS, UsageError, _settings_problem, build_parsers, with_defaults
from tui_backprop.cli.commands import (
    EXIT_ERROR,
    EXIT_OK,
    _error,
    _say,
    cmd_check,
    cmd_list,
    cmd_trace,
    scenario_loader,
)
from tui_backprop.cli.float_warnings import FloatWarnings
from tui_backprop.core.sandbox import (
    EXIT_BROKEN_PIPE,
    EXIT_INTERRUPTED,
    Stdio,
    exits_refused,
    own_stdio,
    printable,
    real_exit,
    real_interrupt,
    report_interrupt,
    sigint_marked,
    silence,
)

Loader = Callable[[str], Any]
"""Loads a scenario by its spec (``commands.scenario_loader``: slugs, paths and the ``--torch`` target)."""
OpenApp = Callable[[str | None, str | None, str, bool, Loader | None, bool], int]
"""Opens the app on (scenario, bug, dtype, quiz, loader, mystery) and returns its exit code. The
command line sits below the app (README, "Code map"), so the caller hands it in:
``tui_backprop.__main__`` does."""


def main(argv: Sequence[str] | None = None, *, leave: bool = False, open_app: OpenApp | None = None) -> int:
    """Run one command and return its exit code; never raises, never prints a traceback.

    ``leave``: a headless command ends the process itself, at once after its output, before the
    scenario's streams are given back (so a thread of the scenario cannot print after our JSON).
    ``open_app``: what opens the app; without it the app command is refused (exit 2).
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parsers = build_parsers()
    command = argv[0] if argv and argv[0] in COMMANDS else "app"
    try:
        args = with_defaults(parsers[command].parse_args(argv[1:] if command != "app" else argv))
        problem = _settings_problem(args)
        if problem:
            parsers[command].error(problem)
    except UsageError as exc:
        return _usage(str(exc), parsers[command].prog)
    except SystemExit as exc:  # -h printed the help
        return exc.code if isinstance(exc.code, int) else EXIT_OK
    if command == "app":
        return _open_app(args, parsers["app"].prog, open_app)
    if command == "serve":
        return cmd_serve(args)
    return _headless({"list": cmd_list, "check": cmd_check, "trace": cmd_trace}[command], args, leave)


def entry(open_app: OpenApp | None = None) -> None:
    """Run the command line, then leave at once with its code (the console script's body).

    ``os._exit`` after flushing, so that nothing the scenario left behind can change the verdict or
    hang the process: an ``atexit`` hook calling ``os._exit(0)``, a thread that never ends.
    """
    code = main(leave=True, open_app=open_app)
    for stream in (sys.stdout, sys.stderr):
        with suppress(OSError, ValueError, AttributeError):
            stream.flush()
    real_exit(code)


def _usage(message: str, prog: str) -> int:
    _say(sys.stderr, f"{printable(message)} (try '{prog} -h')")
    return EXIT_ERROR


def _headless(
    command: Callable[[argparse.Namespace, Stdio], int], args: argparse.Namespace, leave: bool = False
) -> int:
    """Run a headless command with our stdout kept from the scenario's code and Ctrl-C told apart;
    with ``leave``, end the process right there with the command's code."""
    with sigint_marked(), own_stdio() as stdio, exits_refused(), FloatWarnings() as floats:
        code = _guarded(command, args, stdio)
        floats.report(stdio.err)
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
    from tui_backprop.core.errors import describe_exception, origin_of_exception

    origin = origin_of_exception(exc)
    if origin is not None:
        return f"{origin}: the scenario's code failed: {describe_exception(exc)}"
    return f"internal error: {describe_exception(exc)} (please report it)"


# ---------------------------------------------------------------- the app
def _open_app(args: argparse.Namespace, prog: str, open_app: OpenApp | None) -> int:
    """Open the app, but only for a word that names something, and only on a terminal."""
    if args.scenario is not None:
        problem = _scenario_word_problem(args.scenario)
        if problem:
            return _usage(f"{prog}: error: {problem}", prog)
    if args.torch:
        from tui_backprop.core.errors import not_installed
        from tui_backprop.interop.extras import installed

        if not installed("torch"):
            _say(sys.stderr, f"backprop-tui: error: --torch: {not_installed('torch')}")
            return EXIT_ERROR
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
    if open_app is None:
        return _usage(f"{prog}: error: the app is not available from here; run 'backprop-tui'", prog)
    if args.guest:
        _enter_guest(args.scenario)
    if args.torch:
        return open_app(args.torch, args.bug, args.dtype, args.quiz, scenario_loader(args), args.mystery)
    return open_app(args.scenario, args.bug, _dtype_over(args), args.quiz, None, args.mystery)


def _enter_guest(spec: str | None) -> None:
    """Make this app process a browser guest's (``serve`` starts each one so): it may open only
    ``spec``, the scenario a lesson names and the built-ins, and writes nothing (``core/guest.py``)."""
    from tui_backprop.core import guest

    files = []
    if spec and (spec.endswith((".py", ".toml")) or os.path.lexists(spec)):
        files.append(spec)
    if spec and spec.endswith(".toml"):
        from pathlib import Path

        from tui_backprop.core.errors import ScenarioError
        from tui_backprop.teach.lesson import read

        with suppress(ScenarioError):  # a broken lesson: the app shows why, and may open nothing else
            lesson, _ = read(Path(spec))
            files.append(lesson.scenario)
    guest.enter(files)


def _dtype_over(args: argparse.Namespace) -> str | None:
    """The dtype to open with: for a lesson only the one typed (None keeps the lesson's own, as
    ``check`` and ``trace`` do: README "Lesson files")."""
    lesson = (args.scenario or "").endswith(".toml")
    return args.dtype if args.dtype_given or not lesson else None


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream is not None and stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


PLUGIN_GROUP = "tui_backprop.scenarios"
"""``scenarios.ENTRY_POINT_GROUP``, repeated so checking a word does not import numpy."""


def _scenario_word_problem(word: str) -> str | None:
    """Why the app's argument names nothing it could open (None: a slug, or a usable file)."""
    from tui_backprop.core.sandbox import ScenarioFileError, scenario_source, shown

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
        from tui_backprop.core.scenarios import builtin_names

        ORDER = builtin_names()
    slugs = [name.replace("_", "-") for name in ORDER]
    with suppress(Exception):  # broken metadata: the picker and `list` report it
        slugs += [entry.name for entry in entry_points(group=PLUGIN_GROUP)]
    return slugs


def cmd_serve(args: argparse.Namespace) -> int:
    """Check the scenario or lesson opens here (one line and exit 2 if not), then serve it."""
    from tui_backprop.cli.serve import serve

    if args.scenario:
        code = _headless(_serve_check, args)
        if code != EXIT_OK:
            return code
    return serve(
        args.scenario,
        args.host,
        args.port,
        args.bug,
        args.dtype if args.dtype_given else None,
        args.quiz,
        args.public_url,
        args.max_clients,
        args.mystery,
    )


def _serve_check(args: argparse.Namespace, stdio: Stdio) -> int:
    from pathlib import Path

    from tui_backprop.core.errors import ScenarioError

    try:
        if args.scenario.endswith(".toml"):
            from tui_backprop.teach.lesson import load

            load(Path(args.scenario), bug=args.bug, dtype=_dtype_over(args))
        else:
            from tui_backprop.core.scenarios import build, load
            from tui_backprop.teach.mystery import resolve_bug

            scenario = load(args.scenario)
            build(scenario, resolve_bug(scenario, args.bug, args.mystery), args.dtype)
    except ScenarioError as exc:
        return _error(stdio, str(exc))
    return EXIT_OK
