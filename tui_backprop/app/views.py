"""What the screen says about a session: node-list rows, the inspector, the status line.

Pure functions from a ``Session`` (and a width) to Rich ``Text``. They read the trace's state at
the session's step through the trace's own accessors (``value_at``, ``grad_at``, ``received_at``),
so going back hides exactly what the engine says is not known yet. Nothing here computes a
gradient; the only arithmetic is the display statistics of a summarised tensor.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from rich.console import Console
from rich.text import Text

from tui_backprop.app import derivation_view
from tui_backprop.app import tensorfmt as tf
from tui_backprop.app.session import RowState, Session

if TYPE_CHECKING:
    from tui_backprop.gradcheck import Comparison

MISMATCH_ROWS = 6
"""Mismatching elements listed in the inspector before pointing at the full view."""


# ---------------------------------------------------------------- node list rows
@dataclass(frozen=True)
class Column:
    key: str
    title: str
    width: int
    align: str = "left"


def columns_for(session: Session, width: int, phase: str = "backward") -> list[Column]:
    """The node list's columns that fit ``width``, dropping the least useful first.

    Going forward the value matters more than the (not yet known) gradient; going back, the other way.
    """
    nodes = session.trace.graph.nodes
    name_w = min(12, max([4] + [len(n.name) for n in nodes]))
    op_w = min(10, max([2] + [len(n.op.name) if n.op else len(n.kind) for n in nodes]))
    shape_w = min(9, max([5] + [len(tf.shape_str(session.trace.values[n.name].shape)) for n in nodes]))
    every = [
        Column("mark", "", 1),
        Column("name", "node", name_w),
        Column("op", "op", op_w),
        Column("shape", "shape", shape_w),
        Column("value", "value", 9, "right"),
        Column("grad", "grad", 9, "right"),
        Column("check", "check", 10),
    ]
    priority = ["mark", "name", "check", "grad", "value", "op", "shape"]
    if phase == "forward":
        priority = ["mark", "name", "check", "value", "grad", "op", "shape"]
    chosen: set[str] = set()
    used = 0
    for key in priority:
        column = next(c for c in every if c.key == key)
        extra = column.width + (1 if chosen else 0)
        if used + extra > width and key not in ("mark", "name"):
            break  # strictly by priority: never a shape where the gradient did not fit
        chosen.add(key)
        used += extra
    return [c for c in every if c.key in chosen]


def header_row(columns: Sequence[Column]) -> Text:
    text = Text(style="bold")
    for k, column in enumerate(columns):
        if k:
            text.append(" ")
        cell = (
            column.title.rjust(column.width) if column.align == "right" else column.title.ljust(column.width)
        )
        text.append(cell[: column.width])
    return text


def node_row(session: Session, state: RowState, columns: Sequence[Column]) -> Text:
    """One node: marker, name, op, shape, value, gradient so far, check status."""
    trace = session.trace
    node = trace.graph[state.name]
    blamed = state.status == "blame"
    cells: dict[str, tuple[str, str]] = {}
    mark = {(True, True): "◉", (True, False): "▶", (False, True): "●"}.get(
        (state.current, state.breakpoint), " "
    )
    cells["mark"] = (mark, "bold #ff5252" if state.breakpoint else "bold")
    name_style = "bold #ff5252 reverse" if blamed else ("bold" if state.current else "")
    cells["name"] = (state.name, name_style)
    cells["op"] = (node.op.name if node.op else node.kind, tf.DIM if node.op is None else "")
    cells["shape"] = (tf.shape_str(trace.values[state.name].shape), tf.DIM)
    if state.value_known:
        cells["value"] = (_cached_cell(session, ("value", state.name), trace.values[state.name]), "")
    else:
        cells["value"] = ("·", tf.DIM)
    if state.received == 0:
        cells["grad"] = ("·", tf.DIM)
    elif state.received < state.expected:
        partial = trace.grad_at(state.name, session.step)
        text = tf.cell_value(partial) if partial is not None else "?"
        cells["grad"] = (f"{text}…", tf.DIM)
    else:
        cells["grad"] = (_cached_cell(session, ("grad", state.name), trace.grads[state.name]), "")
    status = state.status
    cells["check"] = (f"{tf.STATUS_SYMBOL[status]} {tf.STATUS_WORD[status]}", tf.STATUS_STYLE[status])
    text = Text()
    for k, column in enumerate(columns):
        if k:
            text.append(" ")
        content, style = cells[column.key]
        if len(content) > column.width:
            content = content[: column.width - 1] + "…"
        content = content.rjust(column.width) if column.align == "right" else content.ljust(column.width)
        text.append(content, style=style)
    return text


_CELL_CACHE: dict[tuple[int, int, str, str], str] = {}


def _cached_cell(session: Session, key: tuple[str, str], array: np.ndarray) -> str:
    """Norms of big tensors are worth computing once per trace, not once per repaint."""
    full = (id(session.trace), tf.digits(), *key)
    text = _CELL_CACHE.get(full)
    if text is None:
        if len(_CELL_CACHE) > 4096:
            _CELL_CACHE.clear()
        text = _CELL_CACHE[full] = tf.cell_value(array)
    return text


# ---------------------------------------------------------------- the status line
def status_line(
    session: Session, title: str, progress: tuple[int, int] | None, extra: str = "", width: int = 0
) -> Text:
    """Scenario, bug, phase, step k of N, output value, mismatch count, dtype and eps, check progress.

    When the full line is wider than ``width``, a compact one says the same in fewer cells.
    """
    line = Text()
    for compact, sep in ((False, " │ "), (True, " │ "), (True, "│")):
        line = _status_line(session, title, progress, extra, compact, sep)
        if not width or line.cell_len <= width:
            break
    return line


def _status_line(
    session: Session, title: str, progress: tuple[int, int] | None, extra: str, compact: bool, bar: str
) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f" {title} ", style="bold")
    sep = (bar, tf.DIM)
    if session.bug:
        if not compact:
            text.append("bug ", style=tf.DIM)
        text.append(session.bug, style="bold #ff8a80")
        text.append(*sep)
    n = session.n_steps
    phase = session.phase
    shown = ("fwd" if phase == "forward" else "bwd") if compact else phase
    text.append(shown, style="bold #80cbc4" if phase == "forward" else "bold #ffcc80")
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
            count = f"✗{mismatched}" if compact else f"✗ {mismatched} {noun}"
            text.append(count, style=tf.STATUS_STYLE["mismatch"])
        if nonfinite:
            if mismatched:
                text.append(" ")
            count = f"!{nonfinite}" if compact else f"! {nonfinite} non-finite"
            text.append(count, style=tf.STATUS_STYLE["nonfinite"])
        if random:  # a forward that is not deterministic: not a wrong backward
            if mismatched or nonfinite:
                text.append(" ")
            count = f"?{random}" if compact else f"? {random} not deterministic"
            text.append(count, style=tf.STATUS_STYLE["nondeterministic"])
        blamed = [name for name in session.blamed if session.status_of(name) == "blame"]
        if blamed:
            text.append(" blame " if compact else " · blame ", style=tf.DIM)
            text.append(", ".join(blamed), style=tf.STATUS_STYLE["blame"])
        text.append(*sep)
    elif session.check_complete and not session.check_error and hidden:
        text.append("✓…" if compact else "✓ so far", style=tf.STATUS_STYLE["ok"])
        text.append(*sep)
    elif session.check_complete and not session.check_error:
        text.append("✓" if compact else "✓ no mismatch", style=tf.STATUS_STYLE["ok"])
        text.append(*sep)
    warnings = session.trace.graph.warnings  # e.g. a layer's arrays not registered as parameters
    if warnings:
        count = len(warnings)
        text.append(
            f"⚠{count}" if compact else f"⚠ {count} warning{'s' if count > 1 else ''}", style="bold #e0a526"
        )
        text.append(*sep)
    if session.check_error:  # a check that stopped proves nothing about the nodes it did not reach
        text.append("check incomplete", style=tf.STATUS_STYLE["mismatch"])
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
        text.append("━" * filled, style="#4caf50")
        text.append("━" * (cells - filled), style="#3a3a3a")
        text.append(f" {done}/{total}")
    if extra:
        text.append(*sep)
        text.append(extra, style="bold #80cbc4")
    if not compact or tf.digits() != tf.DIGITS:  # last: the first thing a narrow line gives up
        text.append(*sep)
        text.append(f"{tf.digits()}dig" if compact else f"{tf.digits()} digits", style=tf.DIM)
    if session.show_all:
        text.append(" all checks" if compact else " · all checks shown", style="bold #ffcc80")
    return text


def _default_tolerances(dtype: str) -> tuple[float, float]:
    from tui_backprop.gradcheck import DEFAULTS

    return DEFAULTS[dtype]["rtol"], DEFAULTS[dtype]["atol"]


# ---------------------------------------------------------------- the inspector
def inspector(session: Session, name: str, width: int) -> Text:
    """Everything known about one node at the session's step, in reading order."""
    width = max(20, width)
    return Text("\n").join(hang(_Inspector(session, name, width).lines(), width))


_CONSOLE: Console | None = None


def hang(lines: list[Text], width: int) -> list[Text]:
    """Wrap each line to ``width`` with its continuation lines indented under its own start."""
    global _CONSOLE
    if _CONSOLE is None:
        _CONSOLE = Console(width=200, color_system=None, force_terminal=False, file=io.StringIO())
    out: list[Text] = []
    for line in lines:
        if line.cell_len <= width:
            out.append(line)
            continue
        if line.no_wrap:  # a table row: cropping keeps the columns, wrapping would not
            line = line.copy()
            line.truncate(width, overflow="ellipsis")
            out.append(line)
            continue
        plain = line.plain
        depth = len(plain) - len(plain.lstrip(" "))
        body = line[depth:]
        indent = min(depth, width // 2)  # a line nested deeper than a narrow view still gets room
        hanging = min(indent + 2, width // 2)
        first, *rest = body.wrap(_CONSOLE, max(1, width - indent))
        out.append(Text(" " * indent) + first)
        if rest:
            remainder = Text(" ").join(rest)
            pieces = remainder.wrap(_CONSOLE, max(1, width - hanging))
            out.extend(Text(" " * hanging) + piece for piece in pieces)
    return out


class _Inspector:
    def __init__(self, session: Session, name: str, width: int) -> None:
        self.s = session
        self.trace = session.trace
        self.node = session.trace.graph[name]
        self.name = name
        self.step = session.step
        self.width = width
        self.check = session.checks.get(name)
        self.out: list[Text] = []

    # -- helpers
    def add(self, *parts: str | tuple[str, str] | Text, indent: int = 0) -> None:
        line = Text(" " * indent)
        for part in parts:
            if isinstance(part, Text):
                line.append_text(part)
            elif isinstance(part, tuple):
                line.append(*part)
            else:
                line.append(part)
        self.out.append(line)

    def heading(self, title: str) -> None:
        self.out.append(Text(""))
        self.out.append(Text(title, style=tf.LABEL))

    def extend(self, lines: list[Text], indent: int = 2) -> None:
        pad = " " * indent
        self.out.extend(Text(pad) + line for line in lines)

    def tensor(self, label: str, array: np.ndarray | None, indent: int = 2, codes=None) -> None:
        """``label = value`` on one line for scalars, else a grid or a summary under the label."""
        if array is None:
            self.add((label, "bold"), ("  not computed yet", tf.HIDDEN), indent=indent)
            return
        a = np.asarray(array)
        if a.size == 1:
            self.add((label, "bold"), " = ", tf.num(a.reshape(-1)[0]), indent=indent)
            return
        lines = tf.tensor_lines(a, self.width - indent - 2, codes)
        if not tf.is_small(a, self.width - indent - 2):
            head = Text.assemble((label, "bold"), (f"  {tf.shape_str(a.shape)}", tf.LABEL))
            body = tf.summary(a, with_shape=False)
            if indent + head.cell_len + 2 + body.cell_len <= self.width:
                self.add(head, "  ", body, indent=indent)
            else:
                self.add(head, indent=indent)
                self.add(body, indent=indent + 2)
        else:
            self.add((label, "bold"), (f"  {tf.shape_str(a.shape)}", tf.DIM), indent=indent)
            self.extend(lines, indent + 2)

    # -- the sections
    def lines(self) -> list[Text]:
        """Forward: formula, inputs, output. Once the node's backward has run, what it did first."""
        self.header()
        if self.node.op is not None:
            self.formula()
        index = self.s.step_of(self.name, "backward")
        if self.node.op is not None and index is not None and self.step >= index:
            self.gradient()
            self.backward()
            self.verdict()
            self.probe()
            self.inputs()
            self.output()
            return self.out
        if self.node.op is not None:
            self.inputs()
        self.output()
        self.gradient()
        self.verdict()
        self.probe()
        return self.out

    def probe(self) -> None:
        """Where the numeric dL/dnode comes from, once the gradient is final and checked."""
        s, name = self.s, self.name
        if s.phase == "forward" or name == self.trace.output.name or self.check is None:
            return
        if self.check.grad is None or s.received(name) < s.expected(name):
            return
        self.extend(derivation_view.probe_for(s, name, self.check.grad, self.width - 2), 0)

    def header(self) -> None:
        node, s = self.node, self.s
        current = s.current
        title = Text()
        title.append(self.name, style="bold")
        kind = f"  {node.op.name}" if node.op else f"  {node.kind}"
        title.append(kind, style=tf.DIM)
        title.append(f"  {tf.shape_str(self.trace.values[self.name].shape)}", style=tf.DIM)
        status = s.status_of(self.name)
        title.append("   ")
        title.append(f" {tf.STATUS_SYMBOL[status]} {tf.STATUS_WORD[status]} ", style=tf.STATUS_STYLE[status])
        self.out.append(title)
        if current is None:
            self.add(("this graph has no op to step through", tf.DIM))
            return
        where = f"{current.phase} step {s.step + 1} of {s.n_steps}"
        if current.node == self.name:
            self.add(
                ("▶ ", "bold"), (where, "bold #80cbc4" if current.phase == "forward" else "bold #ffcc80")
            )
        else:
            self.add(
                ("peeking at this node; the cursor is at ", tf.DIM),
                (current.node, "bold"),
                (f", {where}", tf.DIM),
            )

    def known(self, name: str) -> np.ndarray | None:
        return self.trace.value_at(name, self.step)

    def formula(self) -> None:
        node = self.node
        assert node.op is not None
        self.add((node.formula() or "", "bold"))
        shown = [tf.inline(v) if (v := self.known(p.name)) is not None else "?" for p in node.inputs]
        value = self.known(self.name)
        plugged = plug(node.op.render_formula, self.name, shown)
        self.add(plugged, (" = ", tf.DIM), tf.inline(value) if value is not None else ("?", tf.HIDDEN))

    def inputs(self) -> None:
        self.heading("inputs")
        for parent in self.node.inputs:
            self.tensor(parent.name, self.known(parent.name))

    def output(self) -> None:
        self.heading("value" if self.node.op is None else "output")
        self.tensor(self.name, self.known(self.name))

    def gradient(self) -> None:
        s, name = self.s, self.name
        label = f"dL/d{name}"
        self.heading(f"gradient {label}")
        if s.phase == "forward" or s.received(name) == 0:
            when = self._reached_at()
            self.add((f"not reached yet{when}", tf.HIDDEN), indent=2)
            return
        received, expected = s.received(name), s.expected(name)
        if expected > 1:
            self.received(received, expected)
        if received < expected:
            self.tensor(f"{label} so far", self.trace.grad_at(name, self.step))
            return
        comparison = self.check.grad if self.check is not None else None
        if comparison is None:
            self.tensor(label, self.trace.grads[name])
            self.add((self._check_pending(), tf.DIM), indent=2)
            return
        self.comparison(label, comparison)

    def _reached_at(self) -> str:
        index = self.trace.backward_index
        consumers = [index[c.name] for c, _ in self.trace.consumers[self.name] if c.name in index]
        if self.name in index and self.name == self.trace.output.name:
            consumers.append(index[self.name])
        return f" (first contribution at step {min(consumers) + 1})" if consumers else ""

    def _check_pending(self) -> str:
        if self.s.check_complete:
            note = self.check.note if self.check is not None else ""
            if self.check is None and self.s.check_error:
                note = f"the check stopped ({self.s.check_error})"
            return f"not checked{': ' + note if note else ''}"
        return "numeric check pending…"

    def received(self, received: int, expected: int) -> None:
        """Fan-out: every contribution that reached the node so far, and their sum."""
        arrived = self.trace.received_at(self.name, self.step)
        self.add(
            (f"fans out to {expected} nodes; {received} of {expected} contributions received", tf.DIM),
            indent=2,
        )
        scalar = self.trace.values[self.name].size == 1
        if scalar:
            for consumer, _, contribution in arrived:
                self.add(
                    ("from ", tf.DIM), (consumer, "bold"), "  ", tf.num(contribution.reshape(-1)[0]), indent=4
                )
            total = self.trace.grad_at(self.name, self.step)
            if total is not None:
                self.add(("sum", tf.DIM), "  ", (tf.num(total.reshape(-1)[0]), "bold"), indent=4)
            return
        blocks = [tf.Block(f"from {consumer}", self._lines(c)) for consumer, _, c in arrived]
        total = self.trace.grad_at(self.name, self.step)
        if total is not None:
            blocks.append(tf.Block("sum", self._lines(total)))
        self.extend(tf.side_by_side(blocks, self.width - 4), 4)

    def _lines(self, array: np.ndarray, codes=None) -> list[Text]:
        return tf.tensor_lines(array, self.width - 4, codes)

    def comparison(self, label: str, c: Comparison, indent: int = 2) -> None:
        """Analytic beside numeric with per-element errors; large tensors summarised."""
        a = c.analytic
        if a.size == 1:
            code = int(c.codes.reshape(-1)[0])
            status = _code_status(code)
            value = tf.num(a.reshape(-1)[0]) + tf.CODE_MARK[code].strip()
            self.add((label, "bold"), " = ", (value, tf.CODE_STYLE.get(code, "")), indent=indent)
            self.add(
                ("numeric ", tf.DIM),
                tf.num(c.numeric.reshape(-1)[0]),
                ("  rel err ", tf.DIM),
                tf.err(c.rel_err.reshape(-1)[0], a.dtype),
                "  ",
                (f"{tf.STATUS_SYMBOL[status]} {tf.STATUS_WORD[status]}", tf.STATUS_STYLE[status]),
                indent=indent + 2,
            )
            return
        room = self.width - indent - 2
        if tf.is_small(a, room) and tf.is_small(c.numeric, room):
            head = Text.assemble((label, "bold"), (f"  {tf.shape_str(a.shape)}", tf.LABEL))
            counts = _counts(c)
            if indent + head.cell_len + 2 + counts.cell_len <= self.width:
                self.add(head, "  ", counts, indent=indent)
            else:
                self.add(head, indent=indent)
                self.add(counts, indent=indent + 2)
            blocks = [
                tf.Block("analytic", tf.grid(a, c.codes, width=room)),
                tf.Block("numeric", tf.grid(c.numeric, c.codes, width=room)),
                tf.Block("rel err", tf.grid(c.rel_err, c.codes, tf.rel_err_formatter(a.dtype), width=room)),
            ]
            self.extend(tf.side_by_side(blocks, room), indent + 2)
            return
        self.add((label, "bold"), (f"  {tf.shape_str(a.shape)}", tf.LABEL), indent=indent)
        self.add(_counts(c), indent=indent + 2)
        room = self.width - indent - 2
        numeric = ("numeric", c.numeric)
        if c.method == "projection":  # only the elements probed one by one have a numeric value
            numeric = ("numeric (probed)", c.numeric[~np.isnan(c.numeric)])
        self.extend(tf.stats_table([("analytic", a), numeric], room), indent + 2)
        self.differing(c, indent + 2)

    def differing(self, c: Comparison, indent: int) -> None:
        """The first mismatching elements by index; the abs err column goes first when narrow."""
        wrong = c.n_mismatch + c.n_kink
        if not wrong:
            return
        index = c.differing()[:MISMATCH_ROWS]
        ix_w = max(7, max(len(str(ix)) for ix in index) + 2)
        with_abs = indent + ix_w + 11 + 11 + 9 + 9 + 1 <= self.width
        n, e = (11, 9) if with_abs else (10, 8)
        head = f"{'index':<{ix_w}}{'analytic':>{n}}{'numeric':>{n}}"
        head += f"{'abs err':>{e}}" if with_abs else ""
        self.out.append(Text(" " * indent + head + f"{'rel err':>{e}}", style=tf.DIM, no_wrap=True))
        for ix in index:
            code = int(c.codes[ix])
            line = Text(" " * indent, no_wrap=True)
            line.append(f"{ix!s:<{ix_w}}", style=tf.CODE_STYLE.get(code, ""))
            line.append(f"{tf.num(c.analytic[ix]):>{n}}{tf.num(c.numeric[ix]):>{n}}")
            if with_abs:
                line.append(f"{tf.err(c.abs_err[ix]):>{e}}")
            line.append(f"{tf.err(c.rel_err[ix], c.analytic.dtype):>{e}}")
            line.append(tf.CODE_MARK[code], style="bold")
            self.out.append(line)
        if wrong > len(index):
            self.add((f"… {wrong - len(index)} more; press v for every element", tf.DIM), indent=indent)

    def backward(self) -> None:
        """The op's own backward rule: local Jacobian, contributions sent, local check."""
        s, node = self.s, self.node
        assert node.op is not None
        index = s.step_of(self.name, "backward")
        if index is None or self.step < index:
            return
        self.heading(f"backward through {node.formula()}")
        failure = self.trace.failures.get(self.name)
        if failure is not None:
            self.add(("backward failed: ", tf.STATUS_STYLE["mismatch"]), failure.message, indent=2)
            if failure.origin is not None:
                self.add(("at ", tf.DIM), (_place(failure.origin), "underline"), indent=4)
        jacobians = self.trace.jacobians.get(self.name, {})
        numeric_jac = self.check.numeric_jacobians if self.check is not None else {}
        upstream = self.trace.grads[self.name]
        links = derivation_view.links_for(self.s, self.name)
        for position, parent in enumerate(node.inputs):
            self.out.append(Text(""))
            sent = self.trace.contributions[self.name][position]
            self.add(("→ ", "bold"), (parent.name, "bold"), (f"  (input {position + 1})", tf.DIM), indent=2)
            if failure is not None:
                self.add(("sends zeros: its backward rule failed", tf.HIDDEN), indent=4)
                continue
            jac = jacobians.get(position)
            label = f"∂{self.name}/∂{parent.name}"
            local = self.check.local.get(position) if self.check is not None else None
            if jac is not None and jac.size == 1 and sent.size == 1 and upstream.size == 1:
                link = links[position] if position < len(links) else None
                self.scalar_contribution(label, jac, numeric_jac.get(position), upstream, sent, local, link)
                continue
            if position < len(links):
                self.extend(derivation_view.tensor_link_lines(links[position], self.name), 4)
            if jac is not None and jac.size == 1:
                line = [("local ", tf.DIM), (label, "bold"), " = ", tf.num(jac.reshape(-1)[0])]
                if position in numeric_jac:
                    line += [("  numeric ", tf.DIM), tf.num(numeric_jac[position].reshape(-1)[0])]
                self.add(*line, indent=4)
            elif jac is not None:
                self.add(
                    ("local Jacobian ", tf.DIM),
                    (label, "bold"),
                    (f"  {jac.shape[0]}×{jac.shape[1]}", tf.DIM),
                    indent=4,
                )
                checked = self.check.jacobian_checks.get(position) if self.check is not None else None
                codes = checked.codes if checked is not None else None
                blocks = [tf.Block("analytic", tf.tensor_lines(jac, self.width - 8, codes))]
                if position in numeric_jac:
                    numeric = tf.tensor_lines(numeric_jac[position], self.width - 8, codes)
                    blocks.append(tf.Block("numeric", numeric))
                self.extend(tf.side_by_side(blocks, self.width - 8), 6)
            else:
                size = self.trace.values[self.name].size * parent_size(self, position)
                self.add((f"local Jacobian {label} has {size} entries: not shown", tf.DIM), indent=4)
            if local is not None:
                self.comparison(f"contribution to {parent.name}", local, indent=4)
            else:
                self.tensor(f"contribution to {parent.name}", sent, indent=4)

    def scalar_contribution(self, label, jac, numeric_jac, upstream, sent, local, link=None) -> None:
        """Scalar ops read like the textbook: local derivative with numbers, the product sent, its check."""
        code = int(local.codes.reshape(-1)[0]) if local is not None else tf.OK
        mark = tf.CODE_MARK[code].strip()
        numeric = float(numeric_jac.reshape(-1)[0]) if numeric_jac is not None else None
        textbook = derivation_view.local_line(link, numeric) if link is not None else None
        if textbook is not None:
            self.add(textbook, indent=4)
        else:
            line = [(label, "bold"), " = ", (tf.num(jac.reshape(-1)[0]) + mark, tf.CODE_STYLE.get(code, ""))]
            if numeric_jac is not None:
                line += [("  numeric ", tf.DIM), tf.num(numeric_jac.reshape(-1)[0])]
            self.add(*line, indent=4)
        product = (
            derivation_view.product_line(link, self.name, mark, tf.CODE_STYLE.get(code, "")) if link else None
        )
        if product is not None:
            self.add(("sends ", tf.DIM), product, indent=4)
        else:
            factor = tf.short(jac.reshape(-1)[0])
            factor = f"({factor})" if factor.startswith("-") else factor
            product_text = f"{tf.short(upstream.reshape(-1)[0])} · {factor}"
            self.add(
                ("sends ", tf.DIM),
                f"dL/d{self.name} · {label} = {product_text} = ",
                (tf.num(sent.reshape(-1)[0]) + mark, tf.CODE_STYLE.get(code, "bold")),
                indent=4,
            )
        if local is None:
            self.add((self._check_pending(), tf.DIM), indent=4)
            return
        code = int(local.codes.reshape(-1)[0])
        status = _code_status(code)
        self.add(
            ("numeric ", tf.DIM),
            (tf.num(local.numeric.reshape(-1)[0]), tf.CODE_STYLE.get(code, "")),
            ("  rel err ", tf.DIM),
            tf.err(local.rel_err.reshape(-1)[0], local.analytic.dtype),
            "  ",
            (f"{tf.STATUS_SYMBOL[status]} {tf.STATUS_WORD[status]}", tf.STATUS_STYLE[status]),
            indent=4,
        )

    def verdict(self) -> None:
        check = self.check
        status = self.s.status_of(self.name)
        if check is None or status == "hidden":
            return
        if check.blamed and status != "blame":
            return  # the backward rule's own verdict waits for its step (no spoilers)
        if check.blamed and check.failure is not None:
            self.out.append(Text(""))
            self.add((" ✗ BLAMED ", tf.STATUS_STYLE["blame"]))
            self.add(f"the backward rule of {self.name} failed: {check.failure.message}", indent=1)
            if check.failure.origin is not None:
                self.add(("at ", tf.DIM), (_place(check.failure.origin), "underline"), indent=1)
        elif check.blamed:
            self.out.append(Text(""))
            self.add((" ✗ BLAMED ", tf.STATUS_STYLE["blame"]))
            self.add(
                f"the backward rule of {self.name} fails its own local check: with its upstream gradient "
                "held fixed, what it sends its inputs differs from the numeric estimate (marked !).",
                indent=1,
            )
            for position, words in check.diagnosis.items():  # what the mismatch looks like, in words
                self.add(("→ ", tf.DIM), (f"{self.node.inputs[position].name}: {words}", "bold"), indent=1)
            if check.probe_error:
                self.add(check.note, indent=1)
            from tui_backprop.trace import backward_origin

            written = backward_origin(self.node)
            if written is not None and written != self.node.origin:
                self.add(("backward rule at ", tf.DIM), (_place(written), "underline"), indent=1)
            if self.node.origin is not None:
                self.add(("node defined at ", tf.DIM), (_place(self.node.origin), "underline"), indent=1)
        elif check.status in ("mismatch", "nonfinite"):
            blamed = self.s.blamed
            self.out.append(Text(""))
            if check.status == "nonfinite":
                self.add((" ! NON-FINITE ", tf.STATUS_STYLE["nonfinite"]), " ", check.note)
            elif blamed:
                self.add(
                    ("gradient mismatch inherited from downstream; blamed: ", tf.DIM),
                    (", ".join(blamed), "bold #ff5252"),
                )
            else:
                self.add(("gradient mismatch; no single backward rule fails its local check", tf.DIM))
        elif check.status == "kink":
            self.out.append(Text(""))
            self.add(
                (
                    "~ the ±eps probe straddles a kink (relu, |x| or max): the difference is expected",
                    tf.STATUS_STYLE["kink"],
                )
            )
        if check.note and check.status not in ("nonfinite",) and not check.blamed:
            self.add((check.note, tf.DIM))
        parts = [(f"dL/d{self.name}", check.grad)] if check.grad is not None else []
        parts += [(f"what it sends {self.node.inputs[i].name}", c) for i, c in check.local.items()]
        for what, c in parts:  # elements probed that could not be judged: never a silent ok
            for reason, count in c.reasons.items():
                self.add((f"– {count} element(s) of {what} not judged: {reason}", tf.DIM))


def plug(render, out: str, operands: list[str]) -> str:
    """The op's formula with numbers for names; a negative number gets parentheses unless the
    formula already encloses it (``exp(-2)``, but ``-(-1.4)`` and ``(-2)²``)."""
    marks = [f"\x00{k}\x00" for k in range(len(operands))]
    text = render(out, marks)
    for k, operand in enumerate(operands):
        mark = marks[k]
        at = text.find(mark)
        while at >= 0:
            before = text[at - 1] if at > 0 else ""
            after = text[at + len(mark)] if at + len(mark) < len(text) else ""
            enclosed = before in "([|," and after in ")]|,"
            value = f"({operand})" if operand.startswith("-") and not enclosed else operand
            text = text[:at] + value + text[at + len(mark) :]
            at = text.find(mark)
    return text


def parent_size(view: _Inspector, position: int) -> int:
    return int(view.trace.values[view.node.inputs[position].name].size)


def _place(origin) -> str:
    from tui_backprop.app.engine import short_path

    return f"{short_path(origin.filename)}:{origin.lineno}"


def _code_status(code: int) -> str:
    return {tf.OK: "ok", tf.MISMATCH: "mismatch", tf.KINK: "kink", tf.NONFINITE: "nonfinite"}.get(
        code, "unchecked"
    )


def _counts(c: Comparison) -> Text:
    text = Text()
    text.append(f"{c.analytic.size} elements", style=tf.DIM)
    if c.method == "projection":  # README: how the check works
        text.append(f", verified by projection ({c.directions} directions)", style=tf.DIM)
    if c.n_mismatch:
        text.append("  ")
        text.append(f" {c.n_mismatch} mismatch ! ", style=tf.CODE_STYLE[tf.MISMATCH])
    if c.n_kink:
        text.append("  ")
        text.append(f" {c.n_kink} kink ~ ", style=tf.CODE_STYLE[tf.KINK])
    text.append(f"  max rel err {tf.err(c.max_rel_err, c.analytic.dtype)}", style=tf.DIM)
    return text
