"""The command line's arguments: the parsers of the app and of ``list``, ``check``, ``trace``, ``serve``
(README, "Command line"), and the settings each dtype refuses."""

from __future__ import annotations

import argparse
import math

COMMANDS = ("list", "check", "trace", "serve")
DTYPES = ("float32", "float64")
DEFAULT_DTYPE = "float64"


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


def _learning_rate(text: str) -> float:
    value = _number(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, not {text}")
    return value


def _momentum(text: str) -> float:
    value = _number(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 0 and below 1, not {text}")
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
    """What parsing alone lets through: a step the dtype cannot resolve, ``--torch`` misused."""
    torch = torch_problem(args)
    if torch:
        return torch
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
    _add_torch(app)
    app.add_argument("--quiz", action="store_true", help="quiz mode: type the next value or gradient")
    _add_mystery(app)
    app.add_argument("--guest", action="store_true", help=argparse.SUPPRESS)  # serve's app processes

    listing = _Parser(prog="backprop-tui list", description="List every scenario with its named bugs.")
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")
    _add_mystery(listing)

    check = _Parser(
        prog="backprop-tui check",
        description="Check every gradient against central finite differences. "
        "Exit 0 every element compared or covered and ok (kinks allowed), 1 a mismatch, a non-finite "
        "value or a forward that is not deterministic, 2 a scenario that cannot run, 3 incomplete: "
        "nothing wrong found, but some elements unchecked (the summary says which and why).",
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
    check.add_argument(
        "--junit-xml",
        metavar="FILE",
        help="also write JUnit XML for CI servers: one test case per scenario, a failure per blame",
    )
    _add_torch(check)
    _add_mystery(check)

    trace = _Parser(prog="backprop-tui trace", description="Print the full trace of one scenario.")
    trace.add_argument("scenario", help="a built-in slug, a path to a .py scenario, or a lesson .toml")
    _add_common(trace)
    trace.add_argument("--format", choices=("json", "markdown"), default="json")
    _add_mystery(trace)
    trace.add_argument(
        "--train", type=_positive_int, metavar="N", help="also run N update steps and report the loss of each"
    )
    trace.add_argument(
        "--lr", type=_learning_rate, help="learning rate of --train (default: the scenario's, else 0.1)"
    )
    trace.add_argument(
        "--momentum", type=_momentum, default=0.0, help="momentum of --train (default 0: plain SGD)"
    )
    serve = _Parser(
        prog="backprop-tui serve",
        description="Serve the app to web browsers (textual-serve; pip install 'backprop-tui[serve]'). "
        "Each browser connection gets its own copy of the app.",
    )
    serve.add_argument("scenario", nargs="?", help="a built-in slug, a .py scenario or a lesson .toml")
    _add_common(serve)
    serve.add_argument("--quiz", action="store_true", help="open every copy in quiz mode")
    _add_mystery(serve)
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: this machine only)")
    serve.add_argument("--port", type=_port, default=8000, help="port to listen on (default 8000)")
    serve.add_argument(
        "--public-url", metavar="URL", help="the URL browsers reach the server at, behind a proxy"
    )
    serve.add_argument(
        "--max-clients",
        type=_positive_int,
        default=30,
        metavar="N",
        help="browsers served at once (default 30; each is an app process of about 60 MB)",
    )
    return {"app": app, "list": listing, "check": check, "trace": trace, "serve": serve}


def _port(text: str) -> int:
    value = int(text)
    if not 0 < value < 65536:
        raise argparse.ArgumentTypeError(f"must be a port number from 1 to 65535, not {text}")
    return value


def _shape(text: str) -> tuple[int, ...]:
    """``4x8`` as (4, 8); ``scalar`` as ()."""
    if text.strip().lower() in ("scalar", "()"):
        return ()
    parts = text.lower().replace("×", "x").split("x")
    if not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(
            f"a shape is sizes joined by x, such as 4x8 (or 'scalar'), not {text!r}"
        )
    return tuple(int(p) for p in parts)


def _add_torch(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--torch",
        metavar="MODULE:NAME",
        help="a torch.autograd.Function, nn.Module or function of tensors, by import path "
        "(package.module:Name), traced into one node per call (needs backprop-tui[torch])",
    )
    parser.add_argument(
        "--input-shape",
        type=_shape,
        action="append",
        default=[],
        metavar="SHAPE",
        help="with --torch: the shape of each tensor input in order, e.g. 4x8 (seeded random values)",
    )


def torch_problem(args: argparse.Namespace) -> str | None:
    """What ``--torch`` and ``--input-shape`` refuse together (None: nothing)."""
    if getattr(args, "input_shape", None) and not getattr(args, "torch", None):
        return "argument --input-shape: only with --torch"
    if getattr(args, "torch", None) and getattr(args, "scenario", None):
        return "argument --torch: open either a scenario or a --torch target, not both"
    return None


def _add_mystery(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--mystery",
        action="store_true",
        help='mystery-bug mode: bugs are "bug 1", "bug 2", with no name or description',
    )


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--bug", metavar="NAME", help="switch on one of the scenario's named bugs")
    parser.add_argument("--dtype", choices=DTYPES, help="float64 (default) or float32")


def with_defaults(args: argparse.Namespace) -> argparse.Namespace:
    """The dtype filled in when none was typed, and ``dtype_given`` saying whether one was: a
    lesson keeps its own dtype unless the command line names one (README "Lesson files")."""
    if hasattr(args, "dtype"):
        args.dtype_given = args.dtype is not None
        args.dtype = args.dtype or DEFAULT_DTYPE
    return args
