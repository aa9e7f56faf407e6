"""The app's cost per step and at startup, against a bare Textual app (a Static and a Footer), in one run.

The bare app is the cheapest app that shows the same thing: a ``Static`` saying which node a step
is at, and the ``Footer`` with the keys; ``n`` and ``p`` rewrite the Static. Each measurement runs
in a fresh interpreter, bare and app interleaved, so a busy moment of the machine hits both alike;
``--baseline DIR`` measures another copy of the package (``git archive COMMIT | tar -x -C DIR``)
in the same run, for a before/after.

The bare app's runs are pooled over the copies measured (it is the same code in each).

Per step: the process CPU time from the moment the key event reaches the app until the last
screen update it causes has been composed and encoded for the terminal (headless runs skip the
encoding, so both apps do it explicitly, as a terminal would). Every step forward, then every step
back, twice, for each built-in, in the node list, the circuit (``g``) and presenter mode (``P``).

Startup: wall time from spawning the interpreter until the first frame is composed, the median of
a few runs, headless and through a real terminal (a pseudo-terminal: the first frame is written to
it); the time until the trace is on screen is printed beside it, and the interpreter's CPU time
until the first frame below it (the figure a busy machine disturbs least).

Targets (issue 15): a step within 2.5x of the bare app's key press in every view and on every
built-in; the first frame within 1.3x of the bare app's.

    .venv/bin/python benchmarks/bench_ui.py [--quick] [--baseline DIR] [--json]
        [--repeat N] [--scenario SLUG ...] [--only steps|startup]

On a shared machine one interpreter's median moves by a third from run to run: ``--repeat 3``
steadies the step figures (``--scenario`` and ``--only`` keep such a run short).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import pty
import select
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import ClassVar

VIEWS = {"list": (), "circuit": ("g",), "presenter": ("end", "P", "home")}
"""The keys that open each view before the steps are measured."""
SIZE = (120, 40)
ROUND_TRIPS = 2
"""Every step forward and back, twice: the second trip shows the cached case."""
ROOT = Path(__file__).resolve().parent.parent
STEP_TARGET = 2.5
PARTS = ("steps", "startup")
START_TARGET = 1.3
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
"""Users' installs have their bytecode cached: so do the runs measured here (``warm_up`` writes it,
as ``bench_startup.py`` does). Without it every module of the package is compiled again at each
start, and the first frame measured that, not the app."""


def builtin_slugs() -> list[str]:
    """Every built-in scenario, in the package's order (a new one is measured too)."""
    from tui_backprop.core import scenarios

    return [scenarios.slug_of(name) for name in scenarios.builtin_names()]


# ---------------------------------------------------------------- in the child: the two apps
def instrumented(base: type) -> type:
    """``base`` recording CPU time at each key event and after each screen update it encodes."""
    from textual import events

    class Measured(base):  # type: ignore[misc, valid-type]
        key_cpu: float | None = None
        display_cpu: float | None = None

        async def on_event(self, event: events.Event) -> None:
            if isinstance(event, events.Key):
                self.key_cpu = time.process_time()
                self.display_cpu = None
            await super().on_event(event)

        def _display(self, screen, renderable) -> None:
            super()._display(screen, renderable)
            if renderable is None:
                return
            render = getattr(renderable, "render_segments", None)
            if render is not None and self.is_headless:
                render(self.console)  # what a terminal run would encode and write
            self.display_cpu = time.process_time()

    return Measured


def bare_app_class() -> type:
    """A Static saying which node the step is at, and the Footer; n and p rewrite the Static."""
    from textual.app import App, ComposeResult
    from textual.widgets import Footer, Static

    class Bare(App):
        BINDINGS: ClassVar = [("n", "step(1)", "Next"), ("p", "step(-1)", "Prev")]

        def __init__(self, names: list[str]) -> None:
            super().__init__()
            self.names = names
            self.step = 0

        def compose(self) -> ComposeResult:
            yield Static(self.line())
            yield Footer()

        def line(self) -> str:
            return f"{self.names[self.step]}  step {self.step + 1} of {len(self.names)}"

        def action_step(self, delta: int) -> None:
            self.step = max(0, min(len(self.names) - 1, self.step + delta))
            self.query_one(Static).update(self.line())

    return Bare


def state_of(app) -> tuple[object, object]:
    """(what is loading, the session), for this code and for a copy from before the model."""
    holder = getattr(app, "model", app)
    return getattr(holder, "loading", None), getattr(holder, "session", None)


async def settle(app, pilot) -> None:
    for _ in range(100):
        await app.workers.wait_for_complete()
        await pilot.pause()
        loading, session = state_of(app)
        if loading is None and (session is None or session.check_complete):
            return


async def step_costs(app, keys: list[str], prelude: tuple[str, ...] = ()) -> list[float]:
    """CPU seconds from each key event to the last frame it caused (``prelude`` keys not counted)."""
    costs = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        for key in prelude:
            await pilot.press(key)
            await settle(app, pilot)
        await pilot.pause(0.05)
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
            if app.key_cpu is not None and app.display_cpu is not None:
                costs.append(app.display_cpu - app.key_cpu)
    return costs


def child_steps(slug: str, view: str) -> list[float]:
    from tui_backprop.app.app import BackpropApp, Request
    from tui_backprop.core import scenarios

    trace = scenarios.trace_scenario(scenarios.load(slug))
    n = len(trace.steps)
    keys = (["n"] * (n - 1) + ["p"] * (n - 1)) * ROUND_TRIPS
    if view == "bare":
        app = instrumented(bare_app_class())([trace.steps[k].node for k in range(n)])
        return asyncio.run(step_costs(app, keys))
    app = instrumented(BackpropApp)(Request(slug))
    return asyncio.run(step_costs(app, keys, VIEWS[view]))


def child_startup(which: str, slug: str, marks: str, headless: bool) -> None:
    """Run until the first frame (and, for the app, the trace) is on screen; write the times."""
    times: dict[str, float] = {}
    if which == "bare":
        base, args = bare_app_class(), ([f"node {i}" for i in range(12)],)
    else:
        from tui_backprop.app.app import BackpropApp, Request

        base, args = BackpropApp, (Request(slug),)

    class Once(base):  # type: ignore[misc, valid-type]
        def on_mount(self) -> None:
            self.set_timer(30, self.exit)  # never hang the benchmark on a scenario that fails

        def _display(self, screen, renderable) -> None:
            super()._display(screen, renderable)
            if renderable is None:
                return
            times.setdefault("first", time.time())
            times.setdefault("first_cpu", time.process_time())
            if which == "bare" or state_of(self)[1] is not None:
                times.setdefault("ready", time.time())
                self.exit()

    Once(*args).run(headless=headless, size=SIZE if headless else None)
    Path(marks).write_text(json.dumps(times))


# ---------------------------------------------------------------- in the parent: spawning children
def child_command(root: Path, *args: str) -> list[str]:
    code = (
        f"import sys; sys.path.insert(0, {str(root)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r}); "
        f"import bench_ui; bench_ui.child_main({list(args)!r})"
    )
    return [sys.executable, "-c", code]


def steps(root: Path, slug: str, view: str) -> float:
    """The median CPU milliseconds of a step, in a fresh interpreter."""
    out = subprocess.run(
        child_command(root, "steps", slug, view),
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
        env=ENV,
    ).stdout
    costs = json.loads(out.strip().splitlines()[-1])
    return statistics.median(costs) * 1e3


def startup(root: Path, which: str, slug: str, terminal: bool) -> tuple[float, float, float]:
    """Seconds from spawning the interpreter to the first frame and to the trace on screen, and the
    interpreter's CPU seconds until the first frame (which a busy machine disturbs least)."""
    with tempfile.TemporaryDirectory() as folder:
        marks = os.path.join(folder, "marks.json")
        command = child_command(root, "startup", which, slug, marks, "terminal" if terminal else "headless")
        t0 = time.time()
        if terminal:
            run_in_a_terminal(command)
        else:
            subprocess.run(command, capture_output=True, check=True, timeout=60, env=ENV)
        times = json.loads(Path(marks).read_text())
    return times["first"] - t0, times.get("ready", times["first"]) - t0, times["first_cpu"]


def run_in_a_terminal(command: list[str]) -> None:
    """Run ``command`` on a pseudo-terminal of SIZE, reading what it writes until it exits."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: a real terminal on its stdin and stdout
        env = {**ENV, "TERM": "xterm-256color", "COLUMNS": str(SIZE[0]), "LINES": str(SIZE[1])}
        os.execve(command[0], command, env)
    import fcntl
    import struct
    import termios

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
    deadline = time.time() + 60
    while time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                if not os.read(fd, 65536):
                    break
            except OSError:  # the child closed the terminal
                break
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
    else:
        os.kill(pid, 9)
    os.close(fd)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def child_main(args: list[str]) -> None:
    if args[0] == "steps":
        print(json.dumps(child_steps(args[1], args[2])))
    else:
        child_startup(args[1], args[2], args[3], headless=args[4] == "headless")


def warm_up(copies: dict[str, Path], parts: tuple[str, ...]) -> None:
    """One run of each thing measured, not counted: the file cache is warm and the bytecode written."""
    for root in copies.values():
        startup(root, "bare", "", False)
        startup(root, "app", "sigmoid-chain", False)
        for view in ("bare", *VIEWS) if "steps" in parts else ():
            steps(root, "sigmoid-chain", view)


# ---------------------------------------------------------------- report
def measure(
    copies: dict[str, Path], runs: int, slugs: list[str], repeat: int = 1, parts: tuple[str, ...] = PARTS
) -> dict[str, dict]:
    """Every figure for each copy of the package, the copies interleaved measurement by measurement.

    The bare app is the same code whichever copy runs it, so its runs are pooled: every copy's
    ratio is taken against the same, better-sampled, bare figure. ``repeat`` measures each step
    figure in that many interpreters (interleaved too) and keeps the median of their medians.
    """
    figures: dict[str, dict] = {name: {"steps": {}, "startup": {}} for name in copies}
    for slug in slugs if "steps" in parts else []:
        bare = []
        costs: dict[str, dict[str, list[float]]] = {name: {view: [] for view in VIEWS} for name in copies}
        for _ in range(repeat):
            for view in ("bare", *VIEWS):
                for name, root in copies.items():
                    cost = steps(root, slug, view)
                    if view == "bare":
                        bare.append(cost)
                    else:
                        costs[name][view].append(cost)
        for name in copies:
            row = {view: statistics.median(costs[name][view]) for view in VIEWS}
            figures[name]["steps"][slug] = {**row, "bare": statistics.median(bare)}
    for terminal in (False, True) if "startup" in parts else ():
        bare_times: list[tuple[float, float, float]] = []
        app_times: dict[str, list[tuple[float, float, float]]] = {name: [] for name in copies}
        for _ in range(runs):  # interleaved, so a busy moment of the machine hits every one alike
            for name, root in copies.items():
                bare_times.append(startup(root, "bare", "", terminal))
                app_times[name].append(startup(root, "app", "sigmoid-chain", terminal))
        for name in copies:
            figures[name]["startup"]["terminal" if terminal else "headless"] = {
                "bare": statistics.median(t[0] for t in bare_times),
                "first": statistics.median(t[0] for t in app_times[name]),
                "ready": statistics.median(t[1] for t in app_times[name]),
                "bare_cpu": statistics.median(t[2] for t in bare_times),
                "first_cpu": statistics.median(t[2] for t in app_times[name]),
            }
    return figures


def report(name: str, figures: dict) -> None:
    print(f"{name}:")
    if figures["steps"]:
        print(f"  per-step CPU ms, median over every step forward and back ({ROUND_TRIPS} round trips)")
        print(f"  {'scenario':<15}{'bare':>7}  " + "  ".join(f"{v:>16}" for v in VIEWS))
    worst = 0.0
    for slug, row in figures["steps"].items():
        cells = []
        for view in VIEWS:
            ratio = row[view] / row["bare"]
            worst = max(worst, ratio)
            cells.append(f"{row[view]:6.2f} {ratio:5.2f}x{'!' if ratio > STEP_TARGET else ' '}  ")
        print(f"  {slug:<15}{row['bare']:7.2f}  " + "".join(f"{c:>18}" for c in cells))
    if figures["steps"]:
        print(f"  worst step {worst:.2f}x the bare app's (target ≤ {STEP_TARGET:g}x)")
    for where, start in figures["startup"].items():
        ratio = start["first"] / start["bare"]
        print(
            f"  startup {where:<9} bare {start['bare']:.3f}s  app first frame {start['first']:.3f}s "
            f"({ratio:.2f}x, target ≤ {START_TARGET:g}x)  trace on screen {start['ready']:.3f}s"
        )
        cpu = start["first_cpu"] / start["bare_cpu"]
        print(
            f"  {'':<17} CPU to the first frame: bare {start['bare_cpu'] * 1e3:.0f} ms, "
            f"app {start['first_cpu'] * 1e3:.0f} ms ({cpu:.2f}x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer startup runs")
    parser.add_argument(
        "--baseline", type=Path, help="another copy of the package to measure in the same run"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument(
        "--repeat", type=int, default=1, help="measure each step figure in N interpreters (median of medians)"
    )
    parser.add_argument(
        "--scenario", action="append", help="measure the steps of this built-in only (repeatable)"
    )
    parser.add_argument("--only", choices=PARTS, help="measure the steps or the startup only")
    args = parser.parse_args()
    runs = 3 if args.quick else 7
    copies = {"this": ROOT}
    if args.baseline is not None:
        copies = {"baseline": args.baseline.resolve(), "this": ROOT}
    slugs = args.scenario or builtin_slugs()
    parts = (args.only,) if args.only else PARTS
    warm_up(copies, parts)
    figures = measure(copies, runs, slugs, max(1, args.repeat), parts)
    for name in copies:
        report(f"{name} ({copies[name]})", figures[name])
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
