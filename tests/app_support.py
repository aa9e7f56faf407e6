"""Helpers the app tests share: run an async test, and wait for the app to settle without sleeping."""

from __future__ import annotations

import asyncio
import contextlib
import functools

from textual.worker import WorkerCancelled

from tui_backprop.app.app import BackpropApp


def sync(test):
    """Run an async test with asyncio.run (the suite has no async plugin)."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        asyncio.run(test(*args, **kwargs))

    return run


async def wait_for_workers(app: BackpropApp) -> None:
    """Wait for every worker still running (a cancelled one is not waited for: it never completes)."""
    running = [w for w in app.workers if not w.is_cancelled and not w.is_finished]
    if running:
        with contextlib.suppress(WorkerCancelled):  # superseded while we waited
            await app.workers.wait_for_complete(running)


async def settle(app: BackpropApp, pilot) -> None:
    """Wait for the load and check workers to finish and their results to be drawn; never sleep."""
    for _ in range(200):
        await wait_for_workers(app)
        await pilot.pause()
        session = app.model.session
        if (
            app.model.loading is None
            and (session is None or session.check_complete)
            and not app.loader.checker.pending
        ):
            return
    raise AssertionError("the app did not settle")


def screen_text(app: BackpropApp) -> str:
    """Every character on the screen, row by row, as the SVG screenshot draws it (every screen
    and overlay, palette and toasts included)."""
    import html
    import re

    svg = app.export_screenshot()
    rows: dict[float, list[tuple[float, str]]] = {}
    for match in re.finditer(r'<text class="[^"]*" x="([\d.]+)" y="([\d.]+)"[^>]*>(.*?)</text>', svg):
        x, y, text = match.groups()
        rows.setdefault(float(y), []).append((float(x), html.unescape(text).replace("\xa0", " ")))
    lines = []
    for y in sorted(rows):
        line = ""
        for x, text in sorted(rows[y]):
            column = round(x / 12.2)  # the screenshot's cell width
            line = line.ljust(column)[:column] + text + line[column + len(text) :]
        lines.append(line.rstrip())
    return "\n".join(lines)


HOSTILE_PATHS = {
    "": ("empty", "type a path"),
    ".": ("dot", "is a folder"),
    "/": ("root", "is a folder"),
    "folder": ("a folder", "is a folder"),
    "~nosuchuser/x": ("unknown user", "there is no user named 'nosuchuser'"),
    "a\x00b": ("NUL", "control characters"),
    "pipe.md": ("FIFO", "is a FIFO (named pipe), not a file"),
    "missing/x": ("missing folder", "there is no folder"),
    "x" * 300: ("name too long", "too long"),
}
"""Paths typed into a save dialog, each with what the dialog must say (``pipe.md`` and ``pipe.toml``
are FIFOs, ``folder`` a folder, made by the test)."""

HOSTILE_PHRASES = [
    "W1[99, 0] = 1",
    "x[0, 0, 0, 0] = 1",
    "x = [" + "-" * 1000 + "1]",
    "x = [" + "+".join(["1"] * 990) + "]",
    "x = " + "[" * 3000 + "]" * 3000,
    "(" * 2000 + "1" + ")" * 2000,
    "x = 1e400",
    "x += -1e308",
    "9" * 5000,
    "nan",
    "-inf",
    "0x10",
    "__import__('os').system('true')",
    "[b]bold[/b] [/]",
    ".",
    "/",
    "~nosuchuser/x",
    "a\x00b",
    "pipe.md",
    "x" * 20000,
    "",
]
"""What a hostile or clumsy user types into any prompt: indices out of range, deep nesting, numbers
beyond float64, code, markup, bad paths, very long input, nothing."""
