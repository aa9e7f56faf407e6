"""Matrix rules and the softmax Jacobian laid out as matrices, with their numbers in.

``dW1 = dz1 · xᵀ = ⎡..⎤ · [..] = ⎡..⎤`` over as many rows as its tallest matrix, what a wrong
backward rule sends beside it with its wrong elements marked ``!`` and coloured; a softmax's
``J = diag(s) - s sᵀ`` and ``dx = Jᵀ · ds``. The numbers come from the engine's
``teach.matrix_rules`` and ``teach.numbers``; the inspector and the presenter card both write them
through here (README: "Matrix rules with the numbers in").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text

from tui_backprop.app import engine as door
from tui_backprop.app.look import digits as display
from tui_backprop.app.look import styles as st

if TYPE_CHECKING:
    from tui_backprop.app.model.session import Session

WRONG = re.compile(r"-?[0-9.e+\-]+!")
"""A number marked wrong in a laid-out matrix (``teach.numbers.layout``'s ``!``)."""


def laid_out(rows: tuple[str, ...]) -> Text:
    """Matrices laid out side by side (``teach.numbers.beside``), their wrong elements coloured;
    never wrapped (a view crops what does not fit rather than breaking a matrix)."""
    text = Text("\n".join(row.rstrip() for row in rows), no_wrap=True)
    text.highlight_regex(WRONG, style=st.BLAME)
    return text


def matrix_lines(session: Session, name: str, position: int, width: int) -> Text | None:
    """``dW1 = dz1 · xᵀ = ⎡..⎤ · [..] = ⎡..⎤`` as matrices, and what the rule sends beside it (under
    it, where ``width`` is too narrow) when it differs; the softmax family's Jacobian and what it
    sends (None: no such rule here, or a plain copy ``db = dz``)."""
    trace, digits = session.trace, display.digits()
    layout = door.matrix_layout
    rule = door.matrix_rule(trace, name, position)
    if rule is not None and (len(rule.operands) > 1 or rule.summed or not rule.agrees):
        names = f"Σ {rule.names}" if rule.summed else rule.names
        parts: list = [f"{rule.target} = {names} ="]
        for k, operand in enumerate(rule.operands):
            parts += (["·"] if k else []) + [layout(operand.value, digits)]
        parts += ["=", layout(rule.textbook, digits)]
        sends = [] if rule.agrees else ["  the backward rule sends", layout(rule.sent, digits, rule.wrong)]
        return _side_by_side([parts, sends], width)
    jacobian = door.jacobian_rule(trace, name) if position == 0 else None
    if jacobian is None:
        return None
    column = jacobian.upstream.reshape(-1, 1)
    matrix = [f"J = {jacobian.formula} =", layout(jacobian.textbook, digits)]
    sent = [f"d{jacobian.parent} = Jᵀ · d{jacobian.node} =", layout(jacobian.textbook.T, digits), "·"]
    sent += [layout(column, digits), "=", layout(jacobian.sends.reshape(-1, 1), digits)]
    wrong = []
    if not jacobian.agrees:
        with np.errstate(all="ignore"):
            flags = ~np.isclose(jacobian.sent, jacobian.sends, rtol=1e-6, atol=1e-12)
        wrong = [
            "  the backward rule sends",
            layout(jacobian.sent.reshape(-1, 1), digits, flags.reshape(-1, 1)),
        ]
    return _side_by_side([matrix, sent, wrong], width)


def _side_by_side(groups: list[list], width: int) -> Text:
    """Groups of matrices and words (``teach.numbers.beside``): on one band when they fit
    ``width``, else a band per group, and a group too wide for one band goes on in the next,
    indented, before one of its ``·`` or ``=``."""
    groups = [g for g in groups if g]
    whole = door.beside([part for k, group in enumerate(groups) for part in ([" "] if k else []) + group])
    if _width(whole) <= width:
        return laid_out(whole.rows)
    bands: list[list] = []
    for group in groups:
        units: list[list] = []  # a ``·`` or ``=`` with the term after it, kept together
        for part in group:
            if not units or (isinstance(part, str) and part.strip() in ("·", "=")):
                units.append([])
            units[-1].append(part)
        bands.append([])
        for unit in units:
            if bands[-1] and _width(door.beside([*bands[-1], *unit])) > width:
                bands.append(["  "])
            bands[-1].extend(unit)
    text = Text(no_wrap=True)
    for k, band in enumerate(bands):
        if k:
            text.append("\n")
        text.append_text(laid_out(door.beside(band).rows))
    return text


def _width(laid) -> int:
    return max((len(r.rstrip()) for r in laid.rows), default=0)
