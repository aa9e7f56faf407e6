"""The check's verdict on a node, in words: blamed (and where its backward rule is written), a
mismatch inherited from downstream, a kink, and the elements that could not be judged.

Shown once the step has revealed it (README: no spoilers); part of the inspector (``text.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from tui_backprop.app import engine as door
from tui_backprop.app.look import numbers as tf
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.badge import SYMBOL

if TYPE_CHECKING:
    from tui_backprop.app.engine import Comparison, Origin
    from tui_backprop.app.model.session import Session


def place(origin: Origin) -> str:
    """``builtin/sigmoid_chain.py:21``: where something is written, as the user would type it."""
    return f"{door.short_path(origin.filename)}:{origin.lineno}"


def verdict_lines(session: Session, name: str) -> list[Text]:
    """What the check says about ``name``, as far as the session's step may show it."""
    out: list[Text] = []
    node = session.trace.graph[name]

    def add(*parts: str | tuple[str, str], indent: int = 0) -> None:
        line = Text(" " * indent)
        for part in parts:
            if isinstance(part, tuple):
                line.append(*part)
            else:
                line.append(part)
        out.append(line)

    check = session.checks.get(name)
    status = session.status_of(name)
    if check is None or status == "hidden":
        return out
    if check.blamed and status != "blame":
        return out  # the backward rule's own verdict waits for its step (no spoilers)
    if check.blamed and check.failure is not None:
        out.append(Text(""))
        add((f" {SYMBOL['blame']} BLAMED ", st.BLAME))
        add(f"the backward rule of {name} failed: {check.failure.message}", indent=1)
        if check.failure.origin is not None:
            add(("at ", tf.DIM), (place(check.failure.origin), "underline"), indent=1)
    elif check.blamed:
        out.append(Text(""))
        add((f" {SYMBOL['blame']} BLAMED ", st.BLAME))
        add(
            f"the backward rule of {name} fails its own local check: with its upstream gradient "
            "held fixed, what it sends its inputs differs from the numeric estimate (marked !).",
            indent=1,
        )
        for position, words in check.diagnosis.items():  # what the mismatch looks like, in words
            add(("→ ", tf.DIM), (f"{node.inputs[position].name}: {words}", "bold"), indent=1)
        if check.probe_error:
            add(check.note, indent=1)
        written = door.backward_origin(node)
        if written is not None and written != node.origin:
            add(("backward rule at ", tf.DIM), (place(written), "underline"), indent=1)
        if node.origin is not None:
            add(("node defined at ", tf.DIM), (place(node.origin), "underline"), indent=1)
    elif check.status in ("mismatch", "nonfinite"):
        blamed = [b for b in session.blamed if session.status_of(b) == "blame"]  # revealed ones only
        out.append(Text(""))
        if check.status == "nonfinite":
            add((f" {SYMBOL['nonfinite']} NON-FINITE ", st.NONFINITE), " ", check.note)
        elif blamed:
            add(
                ("gradient mismatch inherited from downstream; blamed: ", tf.DIM),
                (", ".join(blamed), st.MISMATCH),
            )
        else:
            add(("gradient mismatch; no single backward rule fails its local check", tf.DIM))
    elif check.status == "kink":
        out.append(Text(""))
        add(("~ the ±eps probe straddles a kink (relu, |x| or max): the difference is expected", st.KINK))
    if check.note and check.status not in ("nonfinite",) and not check.blamed:
        add((check.note, tf.DIM))
    parts = [(f"dL/d{name}", check.grad)] if check.grad is not None else []
    parts += [(f"what it sends {node.inputs[i].name}", c) for i, c in check.local.items()]
    for what, c in parts:  # elements probed that could not be judged: never a silent ok
        for reason, count in c.reasons.items():
            add((f"– {count} element(s) of {what} not judged: {reason}", tf.DIM))
    return out


def counts_line(c: Comparison) -> Text:
    """``40000 elements, verified by projection (5 directions)  max rel err 2e-10``: a comparison's tally."""
    text = Text()
    text.append(f"{c.analytic.size} elements", style=tf.DIM)
    if c.method == "projection":  # README: how the check works
        text.append(f", verified by projection ({c.directions} directions)", style=tf.DIM)
    elif c.n_covered:  # pulled back through an author's rule its projection verified
        text.append(", covered: carried back through a rule verified by projection", style=tf.DIM)
    if c.n_mismatch:
        text.append("  ")
        text.append(f" {c.n_mismatch} mismatch ! ", style=tf.CODE_STYLE[tf.MISMATCH])
    if c.n_kink:
        text.append("  ")
        text.append(f" {c.n_kink} kink ~ ", style=tf.CODE_STYLE[tf.KINK])
    if c.n_probed:  # README: no relative error shown that no element's own probe measured
        text.append(f"  max rel err {tf.err(c.max_rel_err, c.analytic.dtype)}", style=tf.DIM)
    return text
