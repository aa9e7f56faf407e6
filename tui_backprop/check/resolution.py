"""How small an error the dtype can tell from zero, and how to print one below that.

A relative error under the dtype's machine epsilon is round-off: one machine's BLAS prints
``1.9e-16`` where another's prints ``0``. Showing both as ``<1e-15`` (float64) or ``<1e-6``
(float32) keeps every screen, snapshot and report the same on every machine. The app's views and
the CLI's text all ask this one module (README, "Reading the numbers").
"""

from __future__ import annotations

import math

import numpy as np


def resolution(dtype: np.dtype | str | type) -> float:
    """The smallest power of ten at or above the dtype's machine epsilon (1e-15 for float64)."""
    kind = np.dtype(dtype)
    if not np.issubdtype(kind, np.floating):
        kind = np.dtype(np.float64)
    return 10.0 ** math.ceil(math.log10(float(np.finfo(kind).eps)))


def below_resolution(x: float, dtype: np.dtype | str | type) -> str | None:
    """``"<1e-15"`` when the relative error ``x`` is round-off for ``dtype`` (zero included), else None."""
    x = float(x)
    floor = resolution(dtype)
    if 0 <= x < floor:
        return f"<1e{round(math.log10(floor))}"
    return None
