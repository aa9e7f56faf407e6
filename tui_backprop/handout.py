"""The Markdown handout: every step (or a lesson's bookmarked steps) as a student would write it.

Per forward step the formula with its numbers and the value; per backward step a table with, for
each input, the upstream gradient, the local derivative, what is sent on and its local check.
Tables stay well-formed whatever the names and formulas hold (``|x|`` in an abs formula).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from tui_backprop.gradcheck import Check
from tui_backprop.stepwords import sent_by, short, with_numbers
from tui_backprop.trace import Trace


def cell(text: str) -> str:
    """A Markdown table cell: pipes escaped, line breaks folded, never empty."""
    text = " ".join(str(text).split())
    return text.replace("\\", "\\\\").replace("|", "\\|") or " "


def code(text: str) -> str:
    """Inline code that survives backticks inside it."""
    fence = "``" if "`" in text else "`"
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def cell_code(text: str) -> str:
    """Inline code inside a table cell: one line, and its pipes escaped (GFM splits cells on every
    unescaped ``|``, code spans included, and drops the backslash again when rendering them)."""
    return code(" ".join(str(text).split())).replace("|", "\\|")


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
        name = cell(node.name)
        lines += [
            f"upstream gradient dL/d{node.name} = {cell(short(trace.grads[node.name]))}",
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
        scalar = [s for s in sent_by(trace, node) if s.contribution.size == 1 and s.upstream.size == 1]
        for sent in scalar:
            lines.append(f"- {code(sent.rule(node.name))}")
        if scalar:
            lines.append("")
    return lines


def edited_values_markdown(values: dict[str, np.ndarray]) -> list[str]:
    """The leaf values a lesson changed from its scenario file, as a list."""
    if not values:
        return []
    lines = ["Values changed from the scenario file:", ""]
    lines += [f"- {code(name)} = {cell(short(value))}" for name, value in values.items()]
    return [*lines, ""]
