"""A check status as every view writes it: symbol, word and style (``✓ ok``, ``✗ BLAME``, ``~ kink``).

The node list, the inspector, the presenter card, the circuit's gate marks and the help legend
all draw a status through ``badge`` (or ``mark`` where only the symbol fits), so the marks read
the same everywhere (README: the same marks as the node list).
"""

from __future__ import annotations

from rich.text import Text

from tui_backprop.app.look import styles as st
from tui_backprop.app.look.styles import styled

SYMBOL = {
    "ok": "✓",
    "covered": "✓",
    "mismatch": "✗",
    "blame": "✗",
    "kink": "~",
    "nonfinite": "!",
    "unchecked": "–",
    "nondeterministic": "?",
    "pending": "…",
    "hidden": "·",
}
WORD = {
    "ok": "ok",
    "covered": "covered",
    "mismatch": "mismatch",
    "blame": "BLAME",
    "kink": "kink",
    "nonfinite": "nan/inf",
    "unchecked": "n/a",
    "nondeterministic": "random",
    "pending": "pending",
    "hidden": "",
}
STYLE = {
    "ok": st.OK,
    "covered": st.OK,
    "mismatch": st.MISMATCH,
    "blame": st.BLAME,
    "kink": st.KINK,
    "nonfinite": st.NONFINITE,
    "unchecked": st.DIM,
    "nondeterministic": st.NONDETERMINISTIC,
    "pending": st.PENDING,
    "hidden": st.FAINT,
}
MARK_STYLE = {"ok": st.OK_PLAIN, "covered": st.OK_PLAIN}
"""A mark alone (a gate's corner) is lighter than a badge for ``ok``: the failures stand out."""


def badge(status: str, *, padded: bool = False) -> Text:
    """``✓ ok`` in the status's style; ``padded`` adds a cell each side (a label on a coloured ground)."""
    text = f"{SYMBOL[status]} {WORD[status]}"
    return styled(f" {text} " if padded else text, STYLE[status])


def mark(status: str) -> tuple[str, str]:
    """The status's symbol alone and its style, for a place with room for one cell."""
    return SYMBOL[status], MARK_STYLE.get(status, STYLE[status])


def code_status(code: int) -> str:
    """The status an element's check code stands for (``numbers.OK`` ... ``numbers.NONFINITE``)."""
    from tui_backprop.app.look import numbers

    return {
        numbers.OK: "ok",
        numbers.MISMATCH: "mismatch",
        numbers.KINK: "kink",
        numbers.NONFINITE: "nonfinite",
    }.get(code, "unchecked")


def bug_words(label: str, compact: bool = False) -> Text:
    """``bug reciprocal-sign``, or ``bug 2`` in mystery-bug mode, whose label already says ``bug 2``
    (``Model.bug_label``: no view writes a bug's name any other way). ``compact``: the name alone."""
    number = label.removeprefix("bug ")
    name = number if number.isdigit() else label
    text = Text() if compact and name == label else styled("bug ", st.DIM)
    text.append(name, style=st.BUG)
    return text
