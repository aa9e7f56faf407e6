"""The display precision: how many significant digits every view shows (README: "Teaching with it").

One setting every view reads when it draws, like numpy's print options. It lives apart from the
formatters so the app can set it at start-up without importing numpy before its first frame.
"""

from __future__ import annotations

DIGITS = 4
"""Significant digits of every number the app shows, unless the user asks for more (``set_digits``)."""
MIN_DIGITS, MAX_DIGITS = 3, 17

_digits = [DIGITS]


def digits() -> int:
    """Significant digits the views show now (3..17)."""
    return _digits[0]


def set_digits(n: int) -> int:
    """Show ``n`` significant digits from now on (clamped to 3..17); returns the value set."""
    _digits[0] = max(MIN_DIGITS, min(MAX_DIGITS, int(n)))
    return _digits[0]
