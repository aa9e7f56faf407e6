"""numpy's floating-point warnings during a headless command, said once and in our words.

A value near the dtype's limit (``values.x = 1e308`` in a lesson) makes the forward, the probes and
the second looks each warn (``overflow encountered in multiply``, ``invalid value encountered in
subtract``, ...): half a dozen lines naming numpy's and our own source lines, none of which tells the
user more than the verdict does. They are collected instead, and one line on stderr says what
happened (README "What the command line refuses"). Other warnings pass through unchanged.
"""

from __future__ import annotations

import warnings
from contextlib import suppress
from typing import Any, TextIO

KINDS = {
    "overflow encountered": "overflow",
    "invalid value encountered": "invalid values (NaN)",
    "divide by zero encountered": "division by zero",
    "underflow encountered": "underflow",
}
"""The beginnings of numpy's floating-point warnings, and what our line calls each."""


class FloatWarnings:
    """A context in which numpy's floating-point ``RuntimeWarning``s are counted, not printed."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._saved: Any = None

    def __enter__(self) -> FloatWarnings:
        self._saved = warnings.catch_warnings()
        self._saved.__enter__()
        shown = warnings.showwarning

        def show(message: Any, category: type[Warning], *args: Any, **kwargs: Any) -> None:
            kind = _kind(message, category)
            if kind is None:
                shown(message, category, *args, **kwargs)
            elif kind not in self.seen:
                self.seen.append(kind)

        warnings.showwarning = show
        return self

    def __exit__(self, *exc: object) -> None:
        self._saved.__exit__(*exc)

    def report(self, stream: TextIO) -> None:
        """Say in one line what numpy complained of, if anything."""
        if not self.seen:
            return
        line = (
            f"backprop-tui: warning: numpy met {', '.join(self.seen)} while running or checking; "
            "the output marks the values that are not finite"
        )
        if "overflow" in self.seen:
            line += " (numbers near the dtype's largest, about 1.8e308 in float64, leave the check no room)"
        with suppress(OSError, ValueError):
            print(line, file=stream, flush=True)


def _kind(message: Any, category: type[Warning]) -> str | None:
    if not issubclass(category, RuntimeWarning):
        return None
    text = str(message)
    return next((word for start, word in KINDS.items() if text.startswith(start)), None)
