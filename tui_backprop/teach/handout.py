"""The Markdown handout: every step (or a lesson's bookmarked steps) as a student would write it.

Per forward step the formula with its numbers and the value; per backward step a table with, for
each input, the upstream gradient, the local derivative, what is sent on and its local check.
Tables stay well-formed whatever the names and formulas hold (``|x|`` in an abs formula).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tui_backprop.check.gradcheck import Check
from tui_backprop.core.sandbox import printable
from tui_backprop.core.scenarios import Scenario
from tui_backprop.core.trace import Trace
from tui_backprop.teach.matrix_rules import jacobian_rule, matrix_rule
from tui_backprop.teach.mystery import bug_description, bug_label
from tui_backprop.teach.numbers import number
from tui_backprop.teach.step_words import compact, sent_by, short, with_numbers
from tui_backprop.teach.training import Training, summary


def cell(text: str) -> str:
    """A Markdown table cell: pipes escaped, line breaks folded, never empty."""
    text = " ".join(str(text).split())
    return text.replace("\\", "\\\\").replace("|", "\\|") or " "


def code(text: str) -> str:
    """Inline code that survives backticks inside it, on one line: a line break or another control
    character in a name is written as its escape (``a\\nb``), so it cannot end a heading or a
    bullet, and the name stays told apart from one with a space."""
    text = printable(str(text))
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def cell_code(text: str) -> str:
    """Inline code inside a table cell: one line (``code``), and its pipes escaped (GFM splits cells on every
    unescaped ``|``, code spans included, and drops the backslash again when rendering them)."""
    return code(text).replace("|", "\\|")


def steps_markdown(
    trace: Trace, check: Check | None, steps: Iterable[int] | None = None, notes: dict[int, str] | None = None
) -> list[str]:
    """The steps' sections (all of them by default), each headed ``### Step k · phase · formula``."""
    notes = notes or {}
    lines: list[str] = []
    chosen = range(len(trace.steps)) if steps is None else steps
    for index in chosen:
        step = trace.steps[index]
        node = trace.graph[step.node]
        lines += [f"### Step {index + 1} · {step.phase} · {code(node.formula() or '')}", ""]
        if notes.get(index):
            lines += [f"> {cell(notes[index])}", ""]
        if step.phase == "forward":
            lines += [f"{code(with_numbers(trace, node))}", ""]
            lines += [f"value of {code(node.name)}: {cell(short(trace.values[node.name]))}", ""]
            continue
        name = cell(printable(node.name))
        lines += [
            f"upstream gradient dL/d{name} = {cell(short(trace.grads[node.name]))}",
            "",
            f"| sent to | upstream dL/d{name} | local ∂{name}/∂input | sent on | local check |",
            "|---|---|---|---|---|",
        ]
        node_check = check.nodes.get(node.name) if check is not None else None
        for sent in sent_by(trace, node):
            local = short(sent.local) if sent.local is not None else "too large to show"
            verdict = ""
            if node_check is not None:
                comparison = node_check.local.get(sent.position)
                verdict = comparison.status if comparison is not None else (node_check.local_status or "")
            lines.append(
                f"| {cell_code(sent.parent)} | {cell(short(sent.upstream))} | {cell(local)} | "
                f"{cell(short(sent.contribution))} | {cell(verdict or '-')} |"
            )
        lines.append("")
        rules = [
            sent.rule(node.name)
            for sent in sent_by(trace, node)
            if sent.contribution.size == 1 and sent.upstream.size == 1
        ]
        rules += matrix_lines(trace, node.name)
        lines += [f"- {code(rule)}" for rule in rules]
        if rules:
            lines.append("")
    return lines


HANDOUT_MATRIX = 16
"""Matrix rules are written out in the handout when every matrix in them has at most this many elements."""


def matrix_lines(trace: Trace, name: str) -> list[str]:
    """The tensor rules of a backward step with their numbers (``teach.matrix_rules``): each matrix
    product, and a softmax's Jacobian, where the matrices are small enough to read."""
    node = trace.graph[name]
    found = []
    for position in range(len(node.inputs)):
        rule = matrix_rule(trace, name, position)
        if rule is None or rule.sent.size == 1:
            continue
        sizes = [o.value.size for o in rule.operands] + [rule.textbook.size]
        if max(sizes) <= HANDOUT_MATRIX:
            found.append(rule.text())
    jacobian = jacobian_rule(trace, name)
    if jacobian is not None:
        found += jacobian.lines()
    return found


def edited_values_markdown(values: dict[str, np.ndarray]) -> list[str]:
    """The leaf values a lesson changed from its scenario file, as a list."""
    if not values:
        return []
    lines = ["Values changed from the scenario file:", ""]
    lines += [f"- {code(name)} = {cell(short(value))}" for name, value in values.items()]
    return [*lines, ""]


def trace_markdown(
    scenario: Scenario,
    bug: str | None,
    trace: Trace,
    check: Check,
    steps: list[int] | None = None,
    notes: dict[int, str] | None = None,
    values: dict[str, np.ndarray] | None = None,
    *,
    mystery: bool = False,
) -> str:
    """The trace as a Markdown handout: a node table, every step worked out (or only ``steps``,
    a lesson's bookmarks, with their ``notes``), and the verdict. ``values``: leaves a lesson edited;
    ``mystery``: the bug as ``bug N``, undescribed (``teach.mystery``)."""
    lines = [f"# {cell(scenario.title)}", ""]
    if scenario.description:
        lines += [cell(scenario.description), ""]
    label, description = bug_label(scenario, bug, mystery), bug_description(scenario, bug, mystery)
    bug_text = (f"{code(label)}: {cell(description)}" if description else code(label)) if label else "none"
    lines += [
        f"- scenario: {code(scenario.slug)}",
        f"- bug: {bug_text}",
        f"- dtype: {trace.graph.dtype_name}, eps {check.settings.eps:g}, "
        f"rtol {check.settings.rtol:g}, atol {check.settings.atol:g}",
        f"- output: {code(trace.output.name)} = {trace.loss:.10g}",
        "",
        *edited_values_markdown(values or {}),
        "| node | formula | shape | value | dL/dnode | check | max rel err |",
        "|---|---|---|---|---|---|---|",
    ]
    for node in trace.graph.nodes:
        nc = check.nodes.get(node.name)
        status = nc.status if nc else "unchecked"
        if nc is not None and nc.blamed:
            status += " (blamed)"
        err = f"{nc.grad.max_rel_err:.2e}" if nc is not None and nc.grad is not None else ""
        formula = cell(printable(node.formula() or node.kind))
        value, grad = cell(compact(trace.values[node.name])), cell(compact(trace.grads[node.name]))
        lines.append(
            f"| {cell_code(node.name)} | {formula} | {list(trace.values[node.name].shape)} | "
            f"{value} | {grad} | {status} | {err} |"
        )
    lines += ["", "## Bookmarked steps" if steps is not None else "## Steps", ""]
    lines += steps_markdown(trace, check, steps, notes)
    lines += ["## Verdict", ""]
    if check.blame:
        lines.append(
            "Blamed (their own backward rule fails its local check): "
            + ", ".join(code(b) for b in check.blame)
        )
    elif check.failed:
        lines.append("A mismatch or a non-finite value; no single backward rule is to blame.")
    else:
        lines.append("Every gradient agrees with central finite differences.")
    return "\n".join(lines) + "\n"


def training_markdown(training: Training) -> str:
    """``trace --train N`` in the handout: the first update step with its numbers, what it predicted
    and what the loss did, then one row per iteration (loss, accuracy, predicted and actual change)."""
    step = training.pending_update(0)
    lines = [
        "",
        "## Training",
        "",
        f"{cell(training.optimizer.name)}, {len(training) - 1} update step(s).",
        "",
    ]
    lines += [f"- {code(u.line())}" for u in step.updates]
    lines.append(f"- {code(step.prediction_line())}")
    if len(training) > 1:
        actual = training.iterations[1].loss - training.iterations[0].loss
        lines.append(f"- {code('ΔL actual = ' + number(actual))} (after the next forward)")
    lines += ["", "| iteration | loss | accuracy | predicted ΔL | actual ΔL |", "|---|---|---|---|---|"]
    for row in summary(training):
        cells = [
            str(row["index"]),
            number(row["loss"], 6),
            "-" if row["accuracy"] is None else f"{row['accuracy']:.1%}",
            "-" if row["predicted_change"] is None else number(row["predicted_change"]),
            "-" if row["actual_change"] is None else number(row["actual_change"]),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
