"""How much the app costs per step and at startup, against a bare Textual app, measured in one run.

Per step: the process CPU time from the moment the key event reaches the app until the last
screen update it causes has been composed and encoded for the terminal (headless runs skip the
encoding, so both apps here do it explicitly, as a terminal run would). Pilot's idle waits are
not counted: the clock starts at the key event, not at ``pilot.press``, and CPU time does not
advance while the loop sleeps. Both apps get the same keys: every step forward, then every step
back, for each built-in scenario.

Startup: wall time from spawning a fresh interpreter until the first frame is composed, the
median of a few runs. For the app this is the frame it draws while the engine loads in a worker;
the time until the trace itself is on screen is printed beside it.

    .venv/bin/python benchmarks/bench_ui.py [--quick]

The circuit view (``g``) is stepped the same way and its per-step cost printed against the list
view's. Ratios come last. Targets: step cost within 2x of the bare app's for the small scenarios and 3x
for deep-mlp; first frame within 1.3x.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import ClassVar

SCENARIOS = ["sigmoid-chain", "l1-mse", "two-layer-net", "softmax", "deep-mlp"]
SIZE = (120, 40)
ROUND_TRIPS = 2
"""Every step forward and back, twice: the second trip shows the cached case."""
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- the two apps, instrumented
def instrumented(base: type) -> type:
    """``base`` recording CPU time at each key event and after each screen update it encodes."""
    from textual import events

    class Measured(base):  # type: ignore[misc, valid-type]
        key_cpu: float | None = None
        display_cpu: float | None = None
        frames = 0

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
            self.frames += 1
            self.display_cpu = time.process_time()

    return Measured


def bare_app_class() -> type:
    """A list and a text panel, moving the highlight and rewriting the panel on n and p."""
    from textual.app import App, ComposeResult
    from textual.containers import Horizontal
    from textual.widgets import OptionList, Static

    class Bare(App):
        CSS = "OptionList { width: 40; height: 1fr; } Static { width: 1fr; }"
        BINDINGS: ClassVar = [("n", "step(1)", "Next"), ("p", "step(-1)", "Prev")]

        def __init__(self, names: list[str]) -> None:
            super().__init__()
            self.names = names
            self.step = 0

        def compose(self) -> ComposeResult:
            with Horizontal():
                yield OptionList(*self.names)
                yield Static("")

        def on_mount(self) -> None:
            self.action_step(0)

        def action_step(self, delta: int) -> None:
            self.step = max(0, min(len(self.names) - 1, self.step + delta))
            self.query_one(OptionList).highlighted = self.step
            name = self.names[self.step]
            self.query_one(Static).update(f"{name}\nstep {self.step + 1} of {len(self.names)}")

    return Bare


# ---------------------------------------------------------------- per-step cost
async def settle(app, pilot) -> None:
    for _ in range(50):
        await app.workers.wait_for_complete()
        await pilot.pause()
        session = getattr(app, "session", None)
        if getattr(app, "loading", None) is None and (session is None or session.check_complete):
            return


async def step_costs(app, keys: list[str], prelude: tuple[str, ...] = ()) -> list[float]:
    """CPU seconds from each key event to the last frame it caused (``prelude`` keys not counted)."""
    costs = []
    async with app.run_test(size=SIZE) as pilot:
        await settle(app, pilot)
        if prelude:
            await pilot.press(*prelude)
            await settle(app, pilot)
        await pilot.pause(0.05)
        for key in keys:
            await pilot.press(key)
            await pilot.pause()
            if app.key_cpu is not None and app.display_cpu is not None:
                costs.append(app.display_cpu - app.key_cpu)
    return costs


async def measure_steps(slug: str) -> tuple[list[float], list[float], list[float]]:
    from tui_backprop.app.app import BackpropApp, Request
    from tui_backprop.core import scenarios

    trace = scenarios.trace_scenario(scenarios.load(slug))
    n = len(trace.steps)
    keys = (["n"] * (n - 1) + ["p"] * (n - 1)) * ROUND_TRIPS
    app = instrumented(BackpropApp)(Request(slug))
    mine = await step_costs(app, keys)
    names = [trace.steps[k].node for k in range(n)]
    bare = await step_costs(instrumented(bare_app_class())(names), keys)
    circuit = await step_costs(instrumented(BackpropApp)(Request(slug)), keys, prelude=("g",))
    return mine, bare, circuit


# ---------------------------------------------------------------- startup
CHILD = """
import sys, time
sys.path.insert(0, {root!r})
sys.argv = ["bench"]
which, slug = {which!r}, {slug!r}
sys.path.insert(0, {bench!r})
import bench_ui
if which == "bare":
    names = ["node %d" % i for i in range(12)]
    base = bench_ui.bare_app_class()
    args = (names,)
else:
    from tui_backprop.app.app import BackpropApp, Request
    base = BackpropApp
    args = (Request(slug),)
App = bench_ui.instrumented(base)
marks = {{}}

class Once(App):
    def on_mount(self):
        self.set_timer(30, self.exit)  # never hang the benchmark on a scenario that fails

    def _display(self, screen, renderable):
        super()._display(screen, renderable)
        if renderable is None:
            return
        marks.setdefault("first", time.time())
        if which == "bare" or getattr(self, "session", None) is not None:
            marks.setdefault("ready", time.time())
            self.exit()

Once(*args).run(headless=True, size={size!r})
print("BENCH", marks["first"], marks.get("ready", marks["first"]))
"""


def startup(which: str, slug: str) -> tuple[float, float]:
    """Seconds from spawning the interpreter to the first frame, and to the first useful frame."""
    code = CHILD.format(root=str(ROOT), which=which, slug=slug, size=SIZE, bench=str(Path(__file__).parent))
    t0 = time.time()
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    line = next(line for line in out.splitlines() if line.startswith("BENCH"))
    first, ready = (float(x) for x in line.split()[1:])
    return first - t0, ready - t0


# ---------------------------------------------------------------- report
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer startup runs")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()

    rows = []
    circuits = []
    for slug in SCENARIOS:
        mine, bare, circuit = asyncio.run(measure_steps(slug))
        rows.append((slug, statistics.median(mine), statistics.median(bare), len(mine)))
        circuits.append((slug, statistics.median(circuit), statistics.median(mine)))

    runs = 3 if args.quick else 7
    bare_start, app_start = [], []
    for _ in range(runs):  # interleaved, so a busy moment of the machine hits both alike
        bare_start.append(startup("bare", ""))
        app_start.append(startup("app", "sigmoid-chain"))
    bare_first = statistics.median(t[0] for t in bare_start)
    app_first = statistics.median(t[0] for t in app_start)
    app_ready = statistics.median(t[1] for t in app_start)

    where = f"{ROUND_TRIPS} round trips, {SIZE[0]}x{SIZE[1]}"
    print(f"per-step CPU, median over every step forward and back ({where}):")
    print(f"  {'scenario':<15}{'steps':>6}{'app ms':>9}{'bare ms':>9}")
    for slug, mine, bare, count in rows:
        print(f"  {slug:<15}{count:>6}{mine * 1e3:>9.2f}{bare * 1e3:>9.2f}")
    print("startup, wall seconds from spawn, median of", runs)
    print(f"  bare first frame      {bare_first:.3f}")
    print(f"  app first frame       {app_first:.3f}")
    print(f"  app trace on screen   {app_ready:.3f}  (engine loaded in a worker after the first frame)")
    print("ratios (app / bare):")
    worst_small = max(mine / bare for slug, mine, bare, _ in rows if slug != "deep-mlp")
    for slug, mine, bare, _ in rows:
        target = 3.0 if slug == "deep-mlp" else 2.0
        ratio = mine / bare
        print(f"  step {slug:<15}{ratio:6.2f}x  (target ≤ {target:g}x) {'ok' if ratio <= target else 'OVER'}")
    print("ratios (circuit view step / list view step; README: the layout is computed once per graph):")
    for slug, circuit, listed in circuits:
        ratio = circuit / listed
        figures = f"{circuit * 1e3:.2f} ms / {listed * 1e3:.2f} ms"
        verdict = "ok" if ratio <= 1.2 else "OVER"
        print(f"  step {slug:<15}{ratio:6.2f}x  ({figures}, target ≤ 1.2x) {verdict}")
    ratio = app_first / bare_first
    print(f"  startup first frame  {ratio:6.2f}x  (target ≤ 1.3x) {'ok' if ratio <= 1.3 else 'OVER'}")
    if args.json:
        print(
            json.dumps(
                {"steps": rows, "startup": [bare_first, app_first, app_ready], "worst_small": worst_small}
            )
        )


if __name__ == "__main__":
    main()
