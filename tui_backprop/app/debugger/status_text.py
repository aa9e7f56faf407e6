"""The status line: scenario, bug, phase, step k of N, output, failures, dtype and eps, check progress.

A pure function from a ``Session`` (and the App's extras: what is loading, playing, edited) to one
line of Rich ``Text``; when the full line is wider than the terminal, a compact one says the same
in fewer cells. No spoilers: it counts only the check results the step has revealed (README).
"""

from __future__ import annotations

from rich.text import Text

from tui_backprop.app import engine as door
from tui_backprop.app.look import digits as display
from tui_backprop.app.look import numbers as tf
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.badge import STYLE, SYMBOL, bug_words
from tui_backprop.app.model.model import PACES, Model
from tui_backprop.app.model.session import Session


def status_line(
    session: Session,
    title: str,
    progress: tuple[int, int] | None,
    extra: str = "",
    width: int = 0,
    bug: str | None = None,
) -> Text:
    """Scenario, bug, phase, step k of N, output value, mismatch count, dtype and eps, check progress.

    ``bug`` is the bug as the view may call it (``Model.bug_label``: ``bug 2`` in mystery-bug
    mode); the session's own name for it is never written. When the full line is wider than
    ``width``, a compact one says the same in fewer cells.
    """
    line = Text()
    for compact, sep in ((False, " │ "), (True, " │ "), (True, "│")):
        line = _status_line(session, title, progress, extra, compact, sep, bug)
        if not width or line.cell_len <= width:
            break
    return line


def _status_line(
    session: Session,
    title: str,
    progress: tuple[int, int] | None,
    extra: str,
    compact: bool,
    bar: str,
    bug: str | None,
) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f" {title} ", style="bold")
    sep = (bar, tf.DIM)
    if bug:
        text.append_text(bug_words(bug, compact))
        text.append(*sep)
    n = session.n_steps
    phase = session.phase
    if session.update is not None:  # after the backward pass: one update step per parameter
        text.append("upd" if compact else "update", style=st.CHANGED)
        text.append(f" {session.update + 1}/{len(session.params)}")
    else:
        shown = ("fwd" if phase == "forward" else "bwd") if compact else phase
        text.append(shown, style=st.FORWARD if phase == "forward" else st.BACKWARD)
        text.append(f" {session.step + 1 if n else 0}/{n}")
    text.append(*sep)
    output = session.trace.output.name
    value = session.trace.value_at(output, session.step)
    text.append(f"{output}=" if compact else f"{output} = ", style=tf.DIM)
    text.append(tf.short(value.reshape(-1)[0]) if value is not None else "?")
    text.append(*sep)
    failing = [
        name
        for name in session.failing
        if session.status_of(name) in ("mismatch", "nonfinite", "blame", "nondeterministic")
    ]
    hidden = not session.show_all and any(session.status_of(n) == "hidden" for n in session.checks)
    if failing:
        checks = session.checks
        nonfinite = sum(1 for name in failing if checks[name].status == "nonfinite")
        random = sum(1 for name in failing if checks[name].status == "nondeterministic")
        mismatched = len(failing) - nonfinite - random
        if mismatched:
            noun = "mismatch" if mismatched == 1 else "mismatches"
            mark = SYMBOL["mismatch"]
            count = f"{mark}{mismatched}" if compact else f"{mark} {mismatched} {noun}"
            text.append(count, style=STYLE["mismatch"])
        if nonfinite:
            if mismatched:
                text.append(" ")
            mark = SYMBOL["nonfinite"]
            count = f"{mark}{nonfinite}" if compact else f"{mark} {nonfinite} non-finite"
            text.append(count, style=STYLE["nonfinite"])
        if random:  # a forward that is not deterministic: not a wrong backward
            if mismatched or nonfinite:
                text.append(" ")
            mark = SYMBOL["nondeterministic"]
            count = f"{mark}{random}" if compact else f"{mark} {random} not deterministic"
            text.append(count, style=STYLE["nondeterministic"])
        blamed = [name for name in session.blamed if session.status_of(name) == "blame"]
        if blamed:
            text.append(" blame " if compact else " · blame ", style=tf.DIM)
            text.append(", ".join(blamed), style=STYLE["blame"])
        text.append(*sep)
    elif session.check_complete and not session.check_error and session.incomplete():
        text.append("incomplete", style=STYLE["unchecked"])  # README: exit code 3
        text.append(*sep)
    elif session.check_complete and not session.check_error and hidden:
        text.append(f"{SYMBOL['ok']}…" if compact else f"{SYMBOL['ok']} so far", style=STYLE["ok"])
        text.append(*sep)
    elif session.check_complete and not session.check_error:
        text.append(SYMBOL["ok"] if compact else f"{SYMBOL['ok']} no mismatch", style=STYLE["ok"])
        text.append(*sep)
    warnings = session.trace.graph.warnings  # e.g. a layer's arrays not registered as parameters
    if warnings:
        count = len(warnings)
        text.append(
            f"⚠{count}" if compact else f"⚠ {count} warning{'s' if count > 1 else ''}", style=st.WARNING
        )
        text.append(*sep)
    if session.check_error:  # a check that stopped proves nothing about the nodes it did not reach
        text.append("check incomplete", style=STYLE["mismatch"])
        text.append(*sep)
    s = session.settings
    dtype = session.dtype.replace("float", "f") if compact else session.dtype
    text.append(f"{dtype} eps {tf.short(s.eps)}", style=tf.DIM)
    if (s.rtol, s.atol) != _default_tolerances(session.dtype):
        text.append(f" rtol {tf.short(s.rtol)} atol {tf.short(s.atol)}", style=tf.DIM)
    if progress is not None:
        done, total = progress
        text.append(*sep)
        cells = 4 if compact else 8
        filled = round(cells * done / total) if total else cells
        text.append("check ", style=tf.DIM)
        text.append("━" * filled, style=st.PROGRESS_DONE)
        text.append("━" * (cells - filled), style=st.PROGRESS_TODO)
        text.append(f" {done}/{total}")
    if extra:
        text.append(*sep)
        text.append(extra, style=st.FORWARD)
    if not compact or display.digits() != display.DIGITS:  # last: the first thing a narrow line gives up
        text.append(*sep)
        text.append(f"{display.digits()}dig" if compact else f"{display.digits()} digits", style=tf.DIM)
    if session.show_all:
        text.append(" all checks" if compact else " · all checks shown", style=st.BACKWARD)
    return text


def _default_tolerances(dtype: str) -> tuple[float, float]:
    return door.DEFAULTS[dtype]["rtol"], door.DEFAULTS[dtype]["atol"]


def extras(model: Model) -> str:
    """What the line adds after the check: playing, loading, edited values, non-finite, quiz, bookmark."""
    parts = []
    session = model.session
    training = model.training
    if model.playing:
        unit = "iteration" if training is not None and training.playing else "step"
        parts.append(f"▶ playing {PACES[model.pace]:g}s/{unit}")
    if session is not None and training is not None and (training.last or session.iteration):
        parts.append(f"iteration {session.iteration}/{training.last}")
    if model.loading is not None and session is not None:
        parts.append(f"loading {model.loading.spec}…")
    if session is not None and model.edits:
        differ = model.edits.differing(session.trace.graph)
        if differ:
            parts.append(f"✎ values differ from the file: {', '.join(differ)}")
    if model.nonfinite:
        parts.append(f"! {model.nonfinite}")
    if model.quiz.on and model.quiz.score is not None:
        parts.append(model.quiz.score.line())
    if model.note:
        parts.append(f"🔖 {model.note}")
    return "  ".join(parts)
