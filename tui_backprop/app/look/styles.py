"""Named text styles: views write ``bp.ok`` or ``bp.dim``; ``app.tcss`` says what they look like.

Every colour the app shows is in the stylesheet. A view never writes a colour: it gives each span
of its Rich ``Text`` one of the names below. Each name is a component class of the App
(``.bp--ok`` in ``app.tcss``); ``rich_theme`` turns the App's component styles into a Rich theme
that the App pushes onto its console, so the names resolve wherever text is drawn. A Textual
theme changes them like any other rule (``App.-theme-projector .bp--dim { ... }``). Text
rendered without the App (a test's ``Console``) simply has no colour. Plain ``bold`` or
``underline`` are not colours and are written as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rich.style import Style
from rich.text import Text
from rich.theme import Theme

PREFIX = "bp."

# ---------------------------------------------------------------- text around the numbers
DIM = "bp.dim"
"""Labels and units: what a number is, not the number."""
PROSE = "bp.prose"
"""Sentences that explain (help lines, descriptions)."""
FAINT = "bp.faint"
HIDDEN = "bp.hidden"
"""What a step has not computed yet."""
PENDING = "bp.pending"
LABEL = "bp.label"
"""Section headings and tensor names."""
ACCENT = "bp.accent"
CHANGED = "bp.changed"
WARNING = "bp.warning"
# ---------------------------------------------------------------- the two passes, and the bug
FORWARD = "bp.forward"
BACKWARD = "bp.backward"
BUG = "bp.bug"
BUG_PLAIN = "bp.bug-plain"
# ---------------------------------------------------------------- check statuses and element codes
OK = "bp.ok"
OK_PLAIN = "bp.ok-plain"
MISMATCH = "bp.mismatch"
MISMATCH_PLAIN = "bp.mismatch-plain"
BLAME = "bp.blame"
BLAMED_ROW = "bp.blamed-row"
KINK = "bp.kink"
KINK_PLAIN = "bp.kink-plain"
NONFINITE = "bp.nonfinite"
NONFINITE_PLAIN = "bp.nonfinite-plain"
NONDETERMINISTIC = "bp.nondeterministic"
CODE_KINK = "bp.code-kink"
CODE_NONFINITE = "bp.code-nonfinite"
PROGRESS_DONE = "bp.progress-done"
PROGRESS_TODO = "bp.progress-todo"
# ---------------------------------------------------------------- the circuit's wires
WIRE = "bp.wire"
WIRE_VALUE = "bp.wire-value"
WIRE_GRAD = "bp.wire-grad"
CALLOUT = "bp.callout"
PATH = "bp.path"
"""An element of a neighbouring tensor that the followed element touches (its path)."""
# ---------------------------------------------------------------- the step-size explorer
FLOAT64 = "bp.float64"
FLOAT32 = "bp.float32"
ROUNDOFF = "bp.roundoff"
TRUNCATION = "bp.truncation"

NAMES = tuple(
    value.removeprefix(PREFIX)
    for key, value in dict(globals()).items()
    if key.isupper() and isinstance(value, str) and value.startswith(PREFIX) and key != "PREFIX"
)
"""Every style name a view may use; ``app.tcss`` has a ``.bp--NAME`` rule for each."""

COMPONENT_CLASSES = frozenset(f"bp--{name}" for name in NAMES)
"""Declared by the App, so that the stylesheet can style them."""


def rich_theme(component_style: Callable[[str], Style]) -> Theme:
    """A Rich theme mapping every ``bp.NAME`` to the stylesheet's ``.bp--NAME`` (read through
    ``component_style``: the App's partial Rich style of a component class)."""
    return Theme({PREFIX + name: component_style(f"bp--{name}") for name in NAMES}, inherit=True)


def blank_theme() -> Theme:
    """Every name resolves to no style: pushed before the stylesheet is read, so that text drawn
    in that moment never fails to resolve a name."""
    return Theme({PREFIX + name: Style.null() for name in NAMES}, inherit=True)


def styled(text: str, style: str, **kwargs: Any) -> Text:
    """``Text(text)`` with ``style`` over all of it as a span, not as its base style: Textual reads a
    ``Text``'s base style as a style of its own, which knows no ``bp.`` name (a span's style is
    resolved through the console, where the names are)."""
    out = Text(text, **kwargs)
    out.stylize(style)
    return out
