"""A progress bar on stderr for ``check`` when it runs longer than a moment on a terminal.

Only Rich (never Textual: ``check`` must start fast). Nothing is drawn when stderr is not a
terminal, with ``--json``, or when the check is over within ``DELAY`` seconds; the bar is
transient, so the table printed afterwards reads as it always did.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID

    from tui_backprop.check.gradcheck import Check, CheckSettings
    from tui_backprop.core.trace import Trace

DELAY = 0.5
"""Seconds of checking before the bar appears."""


def check_with_progress(trace: Trace, settings: CheckSettings, stream: TextIO | None, label: str) -> Check:
    """The check of ``trace``, with a bar on ``stream`` (None or not a terminal: no bar).

    A real Ctrl-C stops it between probe chunks even when the scenario's code swallowed the
    ``KeyboardInterrupt`` it caused: the check polls the flag the SIGINT handler sets, and the
    interrupt is raised again here (exit 130), never a verdict on a check cut short.
    """
    from tui_backprop.check.gradcheck import finished, iter_check
    from tui_backprop.core.sandbox import real_interrupt

    results = {}
    shown = stream is not None and _is_terminal(stream)
    start = time.monotonic()
    bar = task = None
    total = len(trace.graph.nodes)
    try:
        for done, result in enumerate(iter_check(trace, settings, real_interrupt), start=1):
            results[result.name] = result
            if not shown:
                continue
            if bar is None and time.monotonic() - start > DELAY:
                bar, task = _start(stream, label, total)
            if bar is not None:
                bar.update(task, completed=done, description=f"{label}: {result.name}")
    finally:
        if bar is not None:
            bar.stop()
    if real_interrupt():
        raise KeyboardInterrupt
    return finished(trace, settings, results)


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def _start(stream: TextIO, label: str, total: int) -> tuple[Progress, TaskID]:
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar: Progress

    bar = Progress(
        TextColumn("{task.description}", style="bold", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("nodes"),
        TimeElapsedColumn(),
        console=Console(file=stream),
        transient=True,
    )
    bar.start()
    return bar, bar.add_task(label, total=total)
