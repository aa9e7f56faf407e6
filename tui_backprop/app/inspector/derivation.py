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
from tui_backprop.app.look.styles import styled

if TYPE_CHECKING:
    from tui_backprop.app.engine import Comparison, ElementPath, Focus, Link, Probe
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


def links_for(session: Session, name: str, focus: Focus | None = None) -> list[Link]:
    """The chain rule at ``name``, its numbers written for the element each input follows
    (``Model.focus()``: the chosen one, else the first flagged, else the largest gradient)."""
    return door.links(session.trace, name, focus)


def tensor_link_lines(link: Link, node: str) -> list[Text]:
    """For a tensor input: the local derivative at one element, the product there, the matrix form."""
    lines = [local_line(link), product_line(link, node), matrix_line(link)]
    return [line for line in lines if line is not None]


def probe_for(
    session: Session, name: str, comparison: Comparison, width: int = 80, focus: Focus | None = None
) -> list[Text]:
    """The central difference behind the numeric dL/dname, at the element ``focus`` follows."""
    trace = session.trace
    index = (focus or door.Focus()).index(trace, name)
    if not np.all(np.isfinite(trace.values[trace.output.name])):
        return []
    try:
        probe = door.central_difference(trace, name, index, session.settings.eps)
    except Exception:  # the author's forward on a probed value: the check itself reports such failures
        return []
    code = int(comparison.codes[index]) if comparison.codes.ndim else int(comparison.codes)
    return [Text(""), *probe_lines(probe, badge(code_status(code)), width)]


def probe_lines(probe: Probe, verdict: Text | None = None, width: int = 80) -> list[Text]:
    """The numeric check as arithmetic, in the engine's words (``Probe.lines``): the element moved,
    ``F(a+h)`` and ``F(a-h)`` with just enough digits to differ, ``(F₊ - F₋)/2h`` beside the analytic."""
    head, losses, result = probe.lines(display.digits())
    lines = [styled(head, tf.LABEL)]
    plus, _, minus = losses.partition("   ")
    pad = Text("  ")
    if len(losses) + 2 <= width or not minus:
        lines.append(pad + Text(losses))
    else:
        lines += [pad + Text(plus), pad + Text(minus)]
    last = pad + Text(result)
    if verdict is not None:
        last.append("   ")
        last.append_text(verdict)
    return [*lines, last]


TERMS_NAMED = 2
"""An element's chain rule names each term up to this many; more are written as numbers only."""


def element_rule(session: Session, name: str, position: int, index: tuple[int, ...]) -> list[Text]:
    """The chain rule for one element of a tensor input, summed over the outputs it feeds, from the
    backward rule's own local Jacobian: ``dL/dW1[1,0] = dL/dz1[1,0] · ∂z1[1,0]/∂W1[1,0] = -0.1972 ·
    0.7081 = -0.1396`` (nothing when the Jacobian is too large to have been kept). A wrong rule shows
    by the path it takes: once its check may be shown, the numeric Jacobian's path stands under it
    when they differ (the transposed dW1 sums dL/dz1[0,0] where the forward formula feeds z1[1,0])."""
    trace = session.trace
    jacobian = trace.jacobians.get(name, {}).get(position)
    parent = trace.graph[name].inputs[position].name
    x_shape = trace.values[parent].shape
    if jacobian is None or len(index) != len(x_shape):
        return []
    k = int(np.ravel_multi_index(index, x_shape)) if x_shape else 0
    column = np.asarray(jacobian[:, k], dtype=np.float64)
    upstream = np.asarray(trace.grads[name], dtype=np.float64).reshape(-1)
    sent = np.asarray(trace.contributions[name][position], dtype=np.float64)
    rule = _element_terms(
        session, name, parent, index, column, upstream, float(sent[index] if x_shape else sent)
    )
    if rule is None:
        return []
    lines = [rule]
    check = session.checks.get(name)
    numeric = check.numeric_jacobians.get(position) if check is not None else None
    if numeric is not None and session.status_of(name) not in ("hidden", "pending"):
        other = np.asarray(numeric[:, k], dtype=np.float64)
        if not np.allclose(other, column, rtol=1e-4, atol=1e-8):
            total = float(np.dot(upstream, other))
            found = _element_terms(session, name, parent, index, other, upstream, total)
            if found is not None:
                lines.append(Text("finite differences: ", style=tf.DIM) + found)
    return lines


def _element_terms(
    session: Session,
    name: str,
    parent: str,
    index: tuple[int, ...],
    column: np.ndarray,
    upstream: np.ndarray,
    total: float,
) -> Text | None:
    """``dL/dW1[1,0] = dL/dz1[1,0] · ∂z1[1,0]/∂W1[1,0] = -0.1972 · 0.7081 = -0.1396`` for one
    column of a local Jacobian (the outputs the element feeds, by that Jacobian)."""
    out_shape = session.trace.values[name].shape
    with np.errstate(all="ignore"):
        feeds = [
            int(j) for j in np.flatnonzero(np.abs(column) > 1e-12 * max(1.0, float(np.max(np.abs(column)))))
        ]
    if not feeds:
        return None
    at = where(index)
    text = Text()
    text.append(f"dL/d{parent}{at}", style="bold")
    outs = [where(tuple(int(i) for i in np.unravel_index(j, out_shape))) if out_shape else "" for j in feeds]
    if len(feeds) <= TERMS_NAMED:
        text.append(" = " + " + ".join(f"dL/d{name}{o} · ∂{name}{o}/∂{parent}{at}" for o in outs))
    else:
        text.append(f" = Σ over the {len(feeds)} elements of {name} it feeds")
    shown = feeds[: TERMS_NAMED * 2]
    numbers = " + ".join(
        f"{tf.short(upstream[j]) if n == 0 else factor(upstream[j])} · {factor(column[j])}"
        for n, j in enumerate(shown)
    )
    if len(feeds) > len(shown):
        numbers += " + …"
    text.append(f" = {numbers} = ")
    text.append(tf.num(total), style="bold")
    return text


def elements_text(name: str, mask: np.ndarray) -> str:
    """Which elements of ``name`` a mask marks, as a lecture says it: ``W1[1, :]`` (a row),
    ``x[:, 0]`` (a column), ``z1[1, 0]``, ``W1`` (all of it), ``3 elements of W1``."""
    mask = np.asarray(mask, dtype=bool)
    if mask.ndim == 0 or mask.size == 1:
        return name
    if mask.all():
        return name
    where_true = [tuple(int(i) for i in ix) for ix in np.argwhere(mask)]
    if len(where_true) == 1:
        return f"{name}[{', '.join(map(str, where_true[0]))}]"
    for axis in range(mask.ndim):
        values = {ix[axis] for ix in where_true}
        others = {ix[:axis] + ix[axis + 1 :] for ix in where_true}
        if len(others) == 1 and len(values) == mask.shape[axis]:  # one whole line along ``axis``
            (fixed,) = others
            parts = [str(i) for i in fixed]
            parts.insert(axis, ":")
            return f"{name}[{', '.join(parts)}]"
    return f"{len(where_true)} elements of {name}"


def path_line(path: ElementPath) -> Text:
    """The path of the element followed: ``◆ z1[1, 0] feeds a1[1, 0]; its gradient goes back to
    W1[1, :], x, b1[1, 0]`` (the elements it feeds, and those its backward rule sends to: a wrong
    rule sends along another path than the forward one, README "The element to follow")."""
    text = Text()
    text.append("◆ ", style=st.ACCENT)
    text.append(path.element.label, style="bold")
    feeds = [elements_text(name, mask) for name, mask in path.consumers.items() if np.any(mask)]
    sends = [elements_text(name, mask) for name, mask in path.inputs.items() if np.any(mask)]
    if feeds:
        text.append(" feeds ", style=tf.DIM)
        text.append(", ".join(feeds))
    if sends:
        text.append("; its gradient goes back to " if feeds else " sends its gradient back to ", style=tf.DIM)
        text.append(", ".join(sends))
    return text
