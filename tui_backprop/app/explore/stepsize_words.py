"""What the step-size explorer says: the error-vs-eps plot, its regions, its legend and its verdict.

A pure function from the engine's ``Sweep`` (and a size) to Rich ``Text`` lines; the screen only
shows them. x is eps (1e-12 on the left, 1e-1 on the right), y the relative error, both log10.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from rich.text import Text

from tui_backprop.app.explore import braille as bp
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.styles import styled

if TYPE_CHECKING:
    from tui_backprop.app.engine import Sweep

STYLES = {"float64": st.FLOAT64, "float32": st.FLOAT32}
DIM = st.DIM


def _log(x: float) -> float:
    return math.log10(x)


def explorer_lines(sweep: Sweep, eps: float, width: int, height: int) -> list[Text]:
    """The whole explorer for a ``width`` x ``height`` area (the plot takes what the text leaves)."""
    width = max(40, width)
    finite = [e for c in sweep.curves for e in c.rel_err if math.isfinite(e) and e > 0]
    low = math.floor(_log(min(finite))) if finite else -16
    low = max(-16, min(low, -2))
    high = max(0, math.ceil(_log(max(finite)))) if finite else 0
    xs = [_log(e) for e in sweep.eps]
    series = []
    for curve in sweep.curves:
        points: list[tuple[float, float] | None] = []
        for x, err in zip(xs, curve.rel_err, strict=True):
            if not math.isfinite(err):
                points.append(None)
            else:
                points.append((x, _log(err) if err > 0 else low))
        marks = [k for k, kink in enumerate(curve.kinks) if kink]
        series.append(bp.Series(curve.dtype, points, STYLES.get(curve.dtype, "bold"), marks))

    legend = _legend(sweep, eps, width)
    plot_height = max(6, height - 2 - len(legend))
    y_every = 1 if (high - low) <= plot_height // 2 else (2 if (high - low) <= plot_height else 4)
    y_ticks = [t for t in bp.decades(low, high) if (high - t) % y_every == 0]
    x_low, x_high = min(xs), max(xs)
    cols = width - 6
    x_every = 1 if cols >= 7 * (x_high - x_low + 1) else 2
    x_ticks = [t for t in bp.decades(x_low, x_high) if round(t) % x_every == 0]
    x_axis = bp.Axis(x_low, x_high, x_ticks)
    y_axis = bp.Axis(low, high, y_ticks)
    body = bp.plot(series, x_axis, y_axis, width, plot_height, vline=_log(eps))

    title = Text(no_wrap=True, overflow="ellipsis")
    title.append(f"relative error of dL/d{sweep.label} against eps", style="bold")
    if title.cell_len + 44 <= width:
        title.append("  (log-log; analytic vs central difference)", style=DIM)
    lines = [title, _regions(sweep, width), *body, *legend]
    for line in lines:
        line.truncate(width, overflow="ellipsis")
    return lines


def _regions(sweep: Sweep, width: int) -> Text:
    """Round-off on the left, truncation on the right, split at float64's best eps."""
    left = "◀ round-off: error ∝ machine eps / eps"
    right = "truncation: error ∝ eps² ▶"
    if len(left) + len(right) + 2 > width:
        left, right = "◀ round-off", "truncation ▶"
    line = Text(no_wrap=True)
    line.append(left, style=st.ROUNDOFF)
    line.append(" " * max(1, width - len(left) - len(right)))
    line.append(right, style=st.TRUNCATION)
    return line


def _legend(sweep: Sweep, eps: float, width: int) -> list[Text]:
    """One line per dtype, then the eps line and any kink; pieces that do not fit go on a new line."""
    out: list[Text] = []
    for curve in sweep.curves:
        parts = [Text.assemble(("⣿ ", STYLES.get(curve.dtype, "bold")), (f"{curve.dtype:<8}", "bold"))]
        best = curve.best
        if best is None:
            parts.append(styled("no finite estimate", DIM))
        else:
            parts.append(
                Text.assemble(
                    (f"best eps {_eps(sweep.eps[best])}", DIM), f": rel err {_err(curve.rel_err[best])}"
                )
            )
        at = min(range(len(sweep.eps)), key=lambda k: abs(_log(sweep.eps[k]) - _log(eps)))
        parts.append(styled(f"at the check's eps: {_err(curve.rel_err[at])}", DIM))
        lost = [e for e, err in zip(sweep.eps, curve.rel_err, strict=True) if not math.isfinite(err)]
        if lost:
            parts.append(styled(f"eps below {_eps(max(lost))} is lost to rounding: not plotted", DIM))
        out.extend(_pack(parts, width))
    parts = [Text.assemble(("┊", st.ACCENT), (f" the check's eps = {_eps(eps)}", DIM))]
    kinked = sorted({e for c in sweep.curves for e, k in zip(sweep.eps, c.kinks, strict=True) if k})
    if kinked:
        parts.append(
            Text.assemble(
                ("~ kink", st.KINK),
                (
                    f": eps ≥ {_eps(kinked[0])} crosses a corner (relu, |x|, max);",
                    st.KINK_PLAIN,
                ),
            )
        )
        parts.append(styled("there the difference measures the corner, not a derivative", st.KINK_PLAIN))
    out.extend(_pack(parts, width))
    return out


def _pack(parts: list[Text], width: int) -> list[Text]:
    lines = [Text(no_wrap=True, overflow="ellipsis")]
    for part in parts:
        line = lines[-1]
        if line.cell_len and line.cell_len + 3 + part.cell_len > width:
            lines.append(Text("  ", no_wrap=True, overflow="ellipsis"))
            line = lines[-1]
        elif line.cell_len:
            line.append("   ")
        line.append_text(part)
    return lines


def _eps(x: float) -> str:
    exponent = _log(x)
    if abs(exponent - round(exponent)) < 1e-9:
        return bp.decade_label(exponent)
    return f"{x:.1e}".replace("e-0", "e-")


def _err(x: float) -> str:
    if not math.isfinite(x):
        return "n/a"
    if x == 0:
        return "0 (exact)"
    return f"{x:.0e}".replace("e-0", "e-").replace("e+0", "e+")
