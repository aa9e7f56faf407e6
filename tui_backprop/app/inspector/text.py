"""What the inspector says: everything known about one node at the session's step, in reading order.

A pure function from a ``Session``, a node and a width to Rich ``Text``, reading the trace's state
at the session's step through its own accessors; nothing here computes a gradient.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from rich.text import Text

from tui_backprop.app import engine as door
from tui_backprop.app.inspector import derivation
from tui_backprop.app.inspector.matrices import matrix_lines
from tui_backprop.app.inspector.verdict import counts_line, place, verdict_lines
from tui_backprop.app.look import digits as display
from tui_backprop.app.look import numbers as tf
from tui_backprop.app.look import pictures as pic
from tui_backprop.app.look import styles as st
from tui_backprop.app.look.badge import badge, code_status
from tui_backprop.app.look.styles import styled
from tui_backprop.app.model.session import Session
from tui_backprop.app.train.words import loss_change, update_lines

if TYPE_CHECKING:
    from tui_backprop.app.engine import Comparison, Focus, Training

MISMATCH_ROWS = 6
"""Mismatching elements listed in the inspector before pointing at the full view."""


def inspector(
    session: Session, name: str, width: int, focus: Focus | None = None, run: Training | None = None
) -> Text:
    """Everything known about one node at the session's step, in reading order; in a tensor, the
    element ``focus`` follows is the one written out (``Model.focus()``). ``run``: the training the
    session's iteration belongs to (the loss's change after an update is written on the output)."""
    width = max(20, width)
    return Text("\n").join(tf.hang(_Inspector(session, name, width, focus, run).lines(), width))


class _Inspector:
    def __init__(
        self, session: Session, name: str, width: int, focus: Focus | None = None, run: Training | None = None
    ) -> None:
        self.s = session
        self.focus = focus
        self.run = run
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
        self.out.append(styled(title, tf.LABEL))

    def extend(self, lines: list[Text], indent: int = 2) -> None:
        pad = " " * indent
        for line in lines:
            padded = Text(pad) + line
            padded.no_wrap = line.no_wrap  # a matrix row is cropped, never wrapped
            self.out.append(padded)

    def followed_in(self, name: str, array: np.ndarray) -> tuple[int, ...] | None:
        """The element followed in tensor ``name``, to underline in a grid of ``array``."""
        values = self.trace.values
        if self.focus is None or name not in values or np.shape(array) != values[name].shape:
            return None
        return self.focus.index(self.trace, name)

    def tensor(
        self, label: str, array: np.ndarray | None, indent: int = 2, codes=None, node: str | None = None
    ) -> None:
        """``label = value`` on one line for scalars, else a grid or a summary under the label
        (``node``: the tensor it is of, whose followed element is underlined; default ``label``)."""
        if array is None:
            self.add((label, "bold"), ("  not computed yet", tf.HIDDEN), indent=indent)
            return
        a = np.asarray(array)
        if a.size == 1:
            self.add((label, "bold"), " = ", tf.num(a.reshape(-1)[0]), indent=indent)
            return
        lines = tf.tensor_lines(a, self.width - indent - 2, codes, self.followed_in(node or label, a))
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
        """Forward: formula, inputs, output. Once the node's backward has run, what it did first. In
        the update phase, the parameter's step first; on the loss after an update, its change."""
        self.header()
        if self.s.update is not None and self.name == self.s.node_name:
            self.out.append(Text(""))
            self.extend(update_lines(self.s, self.focus), 0)
        if self.node.op is not None:
            self.formula()
        self.loss_change()
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

    def loss_change(self) -> None:
        """On the loss, once the forward pass reached it after an update: ``loss 0.8808 → 0.8752:
        ΔL = -0.005623, predicted -0.005512`` (the gradient predicting the loss, or failing to)."""
        s = self.s
        if self.run is None or s.iteration == 0 or self.name != self.trace.output.name:
            return
        if self.known(self.name) is None:
            return
        change = loss_change(self.run, s.iteration)
        if change is not None:
            self.out.append(change)

    def probe(self) -> None:
        """Where the numeric dL/dnode comes from, once the gradient is final and checked."""
        s, name = self.s, self.name
        if s.phase == "forward" or name == self.trace.output.name or self.check is None:
            return
        if self.check.grad is None or s.received(name) < s.expected(name):
            return
        self.extend(derivation.probe_for(s, name, self.check.grad, self.width - 2, self.focus), 0)

    def header(self) -> None:
        node, s = self.node, self.s
        current = s.current
        title = Text()
        title.append(self.name, style="bold")
        kind = f"  {node.op.name}" if node.op else f"  {node.kind}"
        title.append(kind, style=tf.DIM)
        title.append(f"  {tf.shape_str(self.trace.values[self.name].shape)}", style=tf.DIM)
        title.append("   ")
        title.append_text(badge(s.status_of(self.name), padded=True))
        self.out.append(title)
        if current is None:
            self.add(("this graph has no op to step through", tf.DIM))
            return
        where = f"{current.phase} step {s.step + 1} of {s.n_steps}"
        if s.update is not None:
            where = f"update {s.update + 1} of {len(s.params)}, after the backward pass"
        if s.iteration:
            where += f", iteration {s.iteration}"
        if current.node == self.name:
            style = st.FORWARD if current.phase == "forward" else st.BACKWARD
            self.add(("▶ ", "bold"), (where, st.CHANGED if current.phase == "update" else style))
        else:
            self.add(
                ("peeking at this node; the cursor is at ", tf.DIM),
                (current.node, "bold"),
                (f", {where}", tf.DIM),
            )
        self.followed()

    def followed(self) -> None:
        """The element followed in this tensor (the element cursor), its value and, once reached,
        its gradient: ``◆ W1[1, 0] = 0.3127   dL/dW1[1, 0] = -0.1396``."""
        if self.focus is None or self.trace.values[self.name].size <= 1:
            return
        index = self.focus.index(self.trace, self.name)
        label = door.element_label(self.name, index)
        line = Text()
        line.append("◆ ", style=st.ACCENT)
        line.append(label, style="bold")
        value = self.known(self.name)
        line.append(" = ")
        line.append(tf.num(np.asarray(value)[index]) if value is not None else "?")
        grad = self.trace.grad_at(self.name, self.step)
        if grad is not None and self.s.received(self.name) == self.s.expected(self.name):
            line.append(f"   dL/d{label} = ", style=tf.DIM)
            line.append(tf.num(np.asarray(grad)[index]))
        line.append("   (H J K L, f)", style=tf.DIM)
        self.out.append(line)

    def known(self, name: str) -> np.ndarray | None:
        return self.trace.value_at(name, self.step)

    def formula(self) -> None:
        node = self.node
        assert node.op is not None
        self.add((node.formula() or "", "bold"))
        shown = [pic.inline(self.known(p.name), display.digits()) for p in node.inputs]
        value = self.known(self.name)
        result = pic.inline(value, display.digits()) if value is not None else ("?", tf.HIDDEN)
        self.add(door.plug(node, shown), (" = ", tf.DIM), result)

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
            self.tensor(f"{label} so far", self.trace.grad_at(name, self.step), node=name)
            return
        comparison = self.check.grad if self.check is not None else None
        if comparison is None:
            self.tensor(label, self.trace.grads[name], node=name)
            self.add((self._check_pending(), tf.DIM), indent=2)
            return
        self.comparison(label, comparison, node=name)

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
        return tf.tensor_lines(array, self.width - 4, codes, self.followed_in(self.name, array))

    def comparison(self, label: str, c: Comparison, indent: int = 2, node: str | None = None) -> None:
        """Analytic beside numeric with per-element errors; large tensors summarised (``node``: the
        tensor the gradient is of, whose followed element is underlined)."""
        a = c.analytic
        if a.size == 1:
            code = int(c.codes.reshape(-1)[0])
            value = tf.num(a.reshape(-1)[0]) + tf.CODE_MARK[code].strip()
            self.add((label, "bold"), " = ", (value, tf.CODE_STYLE.get(code, "")), indent=indent)
            self.add(
                ("numeric ", tf.DIM),
                tf.num(c.numeric.reshape(-1)[0]),
                ("  rel err ", tf.DIM),
                tf.err(c.rel_err.reshape(-1)[0], a.dtype),
                "  ",
                badge(code_status(code)),
                indent=indent + 2,
            )
            return
        room = self.width - indent - 2
        if tf.is_small(a, room) and tf.is_small(c.numeric, room):
            head = Text.assemble((label, "bold"), (f"  {tf.shape_str(a.shape)}", tf.LABEL))
            counts = counts_line(c)
            if indent + head.cell_len + 2 + counts.cell_len <= self.width:
                self.add(head, "  ", counts, indent=indent)
            else:
                self.add(head, indent=indent)
                self.add(counts, indent=indent + 2)
            at = self.followed_in(node, a) if node is not None else None
            rel = tf.rel_err_formatter(a.dtype)
            blocks = [
                tf.Block("analytic", tf.grid(a, c.codes, width=room, followed=at)),
                tf.Block("numeric", tf.grid(c.numeric, c.codes, width=room, followed=at)),
                tf.Block("rel err", tf.grid(c.rel_err, c.codes, rel, width=room, followed=at)),
            ]
            self.extend(tf.side_by_side(blocks, room), indent + 2)
            return
        self.add((label, "bold"), (f"  {tf.shape_str(a.shape)}", tf.LABEL), indent=indent)
        self.add(counts_line(c), indent=indent + 2)
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
        self.out.append(styled(" " * indent + head + f"{'rel err':>{e}}", tf.DIM, no_wrap=True))
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
            self.add(("backward failed: ", st.MISMATCH), failure.message, indent=2)
            if failure.origin is not None:
                self.add(("at ", tf.DIM), (place(failure.origin), "underline"), indent=4)
        jacobians = self.trace.jacobians.get(self.name, {})
        numeric_jac = self.check.numeric_jacobians if self.check is not None else {}
        upstream = self.trace.grads[self.name]
        links = derivation.links_for(self.s, self.name, self.focus)
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
                link = links[position]
                matrices = matrix_lines(self.s, self.name, position, self.width - 4)
                if matrices is None:
                    self.extend(derivation.tensor_link_lines(link, self.name), 4)
                else:
                    lines = [derivation.local_line(link), derivation.product_line(link, self.name)]
                    self.extend([line for line in lines if line is not None], 4)
                    rows = matrices.split("\n")
                    for row in rows:
                        row.no_wrap = True  # a matrix is cropped, never broken across lines
                    self.extend(list(rows), 4)
                if link.focus is not None and (link.local is None or link.upstream is None):
                    self.extend(derivation.element_rule(self.s, self.name, position, link.focus), 4)
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
                self.comparison(f"contribution to {parent.name}", local, indent=4, node=parent.name)
            else:
                self.tensor(f"contribution to {parent.name}", sent, indent=4, node=parent.name)

    def scalar_contribution(self, label, jac, numeric_jac, upstream, sent, local, link=None) -> None:
        """Scalar ops read like the textbook: local derivative with numbers, the product sent, its check."""
        code = int(local.codes.reshape(-1)[0]) if local is not None else tf.OK
        mark = tf.CODE_MARK[code].strip()
        numeric = float(numeric_jac.reshape(-1)[0]) if numeric_jac is not None else None
        textbook = derivation.local_line(link, numeric) if link is not None else None
        if textbook is not None:
            self.add(textbook, indent=4)
        else:
            line = [(label, "bold"), " = ", (tf.num(jac.reshape(-1)[0]) + mark, tf.CODE_STYLE.get(code, ""))]
            if numeric_jac is not None:
                line += [("  numeric ", tf.DIM), tf.num(numeric_jac.reshape(-1)[0])]
            self.add(*line, indent=4)
        product = (
            derivation.product_line(link, self.name, mark, tf.CODE_STYLE.get(code, "")) if link else None
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
        self.add(
            ("numeric ", tf.DIM),
            (tf.num(local.numeric.reshape(-1)[0]), tf.CODE_STYLE.get(code, "")),
            ("  rel err ", tf.DIM),
            tf.err(local.rel_err.reshape(-1)[0], local.analytic.dtype),
            "  ",
            badge(code_status(code)),
            indent=4,
        )

    def verdict(self) -> None:
        self.out.extend(verdict_lines(self.s, self.name))


def parent_size(view: _Inspector, position: int) -> int:
    return int(view.trace.values[view.node.inputs[position].name].size)
