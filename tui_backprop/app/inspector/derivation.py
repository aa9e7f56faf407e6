"""The chain rule written out as text: the engine's ``Link`` and ``Probe`` in the lecture's notation.

``∂f/∂e = -1/e² = -1/1.135² = -0.7758``, then ``dL/de = dL/df · ∂f/∂e = 1 · (-0.7758) = -0.7758``,
and for matrix ops ``dW2 = dz2 · a1ᵀ  (1×1)·(1×2) → 1×2``. The numbers come from
the engine's ``teach.derivation``; this module only writes them (README: "Teaching with it"). The
inspector, the presenter card and the circuit's callouts all write the chain rule through it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text

from tui_backprop.app import engine as door
from tui_backprop.app.look import digits as display
from tui_backprop.app.look import numbers as tf
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.badge import badge, code_status

if TYPE_CHECKING:
    from tui_backprop.app.engine import Comparison, Link, Probe
    from tui_backprop.app.model.session import Session

AGREE_RTOL = 1e-6
"""The textbook product and what the backward rule sent agree when this close (before the check is in)."""


def where(index: tuple[int, ...] | None) -> str:
    """``[1,0]`` for an element of a tensor, nothing for a scalar."""
    return f"[{','.join(str(i) for i in index)}]" if index else ""


def factor(x: float) -> str:
    """A number inside a product: negative ones in parentheses."""
    text = tf.short(x)
    return f"({text})" if text.startswith("-") else text


def plugged(link: Link) -> str | None:
    """The numbers template with the focus element's numbers in it: ``-1/1.135²``."""
    if link.numbers is None or not link.plugged_operands:
        return None
    count = len(link.operands)
    operands = [tf.short(v) if v is not None else "?" for v in link.operands]
    operands.append(tf.short(link.out_value) if link.out_value is not None else "?")

    def render(out: str, marks: list[str]) -> str:
        return link.numbers.format(*marks[:count], out=marks[count])

    try:
        return door.plug_formula(render, "", operands)
    except (IndexError, KeyError, ValueError):
        return None


def local_line(link: Link, numeric: float | None = None) -> Text | None:
    """``∂f/∂e = -1/e² = -1/1.135² = -0.7758``: the textbook's local derivative with numbers."""
    if link.local is None:
        return None
    text = Text()
    text.append(link.label + where(link.focus), style="bold")
    text.append(" = ")
    text.append(link.local)
    numbers = plugged(link)
    value = tf.short(link.textbook) if link.textbook is not None else None
    if numbers is not None and numbers not in (link.local, value):
        text.append(" = ")
        text.append(numbers)
    if value is not None and value != link.local:
        text.append(" = ")
        text.append(value, style="bold")
    if numeric is not None:
        text.append("  numeric ", style=tf.DIM)
        text.append(tf.short(numeric))
    return text


def sends_agree(link: Link) -> bool | None:
    """Did the backward rule send what the chain rule says (None: the textbook gives no number)?"""
    expected = link.expected
    if expected is None or link.sent is None:
        return None
    return bool(np.isclose(link.sent, expected, rtol=AGREE_RTOL, atol=1e-12))


def product_line(link: Link, node: str, mark: str = "", mark_style: str = "") -> Text | None:
    """``dL/de = dL/df · ∂f/∂e = 1 · (-0.7758) = -0.7758``, and what the backward rule sent if not that."""
    if link.upstream is None or link.sent is None or link.textbook is None:
        return None
    at = where(link.focus)
    text = Text()
    text.append(f"dL/d{link.parent}{at}", style="bold")
    text.append(f" = dL/d{node}{where(link.upstream_at)} · {link.label}{at}")
    text.append(f" = {tf.short(link.upstream)} · {factor(link.textbook)} = ")
    agree = sends_agree(link)
    if agree is None or agree:
        text.append(tf.num(link.sent) + mark, style=mark_style or "bold")
        return text
    assert link.expected is not None
    text.append(tf.num(link.expected), style="bold")
    text.append(";  the backward rule sends ", style=tf.DIM)
    text.append(tf.num(link.sent) + (mark or "!"), style=mark_style or st.MISMATCH)
    return text


def matrix_line(link: Link) -> Text | None:
    """``dW2 = dz2 · a1ᵀ   (1×1)·(1×2) → 1×2``: the gradient sent in matrix form, with shapes."""
    if link.sent_formula is None:
        return None
    text = Text()
    text.append(f"d{link.parent}", style="bold")
    text.append(" = ")
    text.append(link.sent_formula)
    if link.shapes:
        *operands, result = link.shapes
        shapes = "·".join(f"({tf.shape_str(shape) if shape else '1'})" for _, shape in operands)
        text.append(f"   {shapes} → {tf.shape_str(result[1])}", style=tf.DIM)
    return text


def links_for(session: Session, name: str) -> list[Link]:
    """The chain rule at ``name``, numbers written for the first element the local check flags."""
    check = session.checks.get(name)
    focus = {}
    if check is not None and session.check_shown(name):
        for position, comparison in check.local.items():
            flagged = comparison.differing()
            if flagged:
                focus[position] = flagged[0]
    return door.links(session.trace, name, focus)


def tensor_link_lines(link: Link, node: str) -> list[Text]:
    """For a tensor input: the local derivative at one element, the product there, the matrix form."""
    lines = [local_line(link), product_line(link, node), matrix_line(link)]
    return [line for line in lines if line is not None]


def probe_for(session: Session, name: str, comparison: Comparison, width: int = 80) -> list[Text]:
    """The central difference behind the numeric dL/dname, at its first flagged (else largest) element."""
    flagged = comparison.differing()
    if flagged:
        index = flagged[0]
    else:
        a = np.abs(np.where(np.isfinite(comparison.analytic), comparison.analytic, 0.0))
        index = tuple(int(i) for i in np.unravel_index(int(np.argmax(a)), a.shape)) if a.ndim else ()
    if not np.all(np.isfinite(session.trace.values[session.trace.output.name])):
        return []
    try:
        probe = door.central_difference(session.trace, name, index, session.settings.eps)
    except Exception:  # the author's forward on a probed value: the check itself reports such failures
        return []
    code = int(comparison.codes[index]) if comparison.codes.ndim else int(comparison.codes)
    return [Text(""), *probe_lines(probe, badge(code_status(code)), width)]


def probe_lines(probe: Probe, verdict: Text | None = None, width: int = 80) -> list[Text]:
    """The numeric check as arithmetic: ``F(x+h) = …, F(x-h) = …, (F₊ - F₋)/2h = …``."""
    at = where(probe.index)
    head = Text()
    head.append(f"numeric dL/d{probe.node}{at}", style=tf.LABEL)
    head.append(f"  F = {probe.output}, x = {tf.short(probe.x)}, h = {tf.short(probe.h)}", style=tf.DIM)
    # Enough digits that F₊ and F₋ visibly differ where the difference starts.
    spread = abs(probe.f_plus - probe.f_minus)
    scale = max(abs(probe.f_plus), abs(probe.f_minus))
    extra = int(np.ceil(np.log10(scale / spread))) if spread > 0 and scale > 0 else 0
    shown = min(display.MAX_DIGITS, display.digits() + max(0, extra))
    plus = Text.assemble(("F(x+h) = ", tf.DIM), tf.num(probe.f_plus, shown))
    minus = Text.assemble(("F(x-h) = ", tf.DIM), tf.num(probe.f_minus, shown))
    result = Text()
    result.append("(F₊ - F₋)/2h = ", style=tf.DIM)
    result.append(tf.num(probe.numeric), style="bold")
    result.append("   analytic ", style=tf.DIM)
    result.append(tf.num(probe.analytic), style="bold")
    if verdict is not None:
        result.append("   ")
        result.append_text(verdict)
    pad = Text("  ")
    if plus.cell_len + minus.cell_len + 5 <= width:
        return [head, pad + plus + Text("   ") + minus, pad + result]
    return [head, pad + plus, pad + minus, pad + result]
