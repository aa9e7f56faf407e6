"""``check``'s text report: the table of nodes, what is blamed and why, the differing elements."""

from __future__ import annotations

from typing import Any

STATUS_STYLE = {
    "ok": ("✓", "green"),
    "kink": ("~", "yellow"),
    "mismatch": ("✗", "bold red"),
    "nonfinite": ("!", "bold magenta"),
    "unchecked": ("·", "dim"),
    "nondeterministic": ("?", "bold yellow"),
}


def check_text(scenario: Any, bug: str | None, trace: Any, result: Any, width: int = 120) -> str:
    """The same report as plain text, no colours: for an assertion's message and a JUnit failure."""
    import io

    from rich.console import Console

    out = io.StringIO()
    console = Console(
        file=out, width=width, color_system=None, markup=False, emoji=False, highlight=False, soft_wrap=False
    )
    print_check(console, scenario, bug, trace, result)
    return "\n".join(line.rstrip() for line in out.getvalue().splitlines()).strip("\n") + "\n"


def verdict_line(entry: dict[str, Any]) -> str:
    """The verdict in one line, from the JSON trace: each blamed node with its formula and the diagnosis."""
    nodes = {n["name"]: n for n in entry["nodes"]}
    blamed = []
    for name in entry["blame"]:
        local = nodes[name].get("local_check", {})
        words = (
            local.get("diagnosis")
            or local.get("error")
            or "its backward rule disagrees with finite differences"
        )
        blamed.append(f"blamed: {nodes[name].get('formula') or name}: {words}")
    if blamed:
        return "; ".join(blamed)
    if entry["status"] == "fail":
        bad = ("mismatch", "nonfinite", "nondeterministic")
        odd = [
            n["name"] for n in entry["nodes"] if {_status(n, "check"), _status(n, "local_check")} & set(bad)
        ]
        return f"the check failed at: {', '.join(odd)}"
    if entry["status"] == "incomplete":
        return "incomplete: nothing is wrong, but some elements could not be checked"
    return entry["status"]


def _status(node: dict[str, Any], part: str) -> str:
    return node.get(part, {}).get("status", "")


COLUMNS = ("node", "op", "shape", "dL/dnode", "max rel err", "status")
RIGHT = {3, 4}
"""Columns justified right (the numbers)."""
GRAD_WIDTH = 18
"""The dL/dnode column's most cells; longer values end in an ellipsis."""
MOST_CELLS = ((0, 36), (1, 14), (2, 20), (3, GRAD_WIDTH))
"""Each column's most cells (node, op, shape, dL/dnode): a long name or a 32-dimensional shape ends
in an ellipsis, so the numbers and the status keep their room in 120 columns."""


def node_table(console: Any, title: Any, caption: Any, rows: list[list[Any]]) -> Any:
    """The node table as Rich's ``Table`` with box SIMPLE_HEAD draws it, written line by line: a
    1,003-node chain is laid out in milliseconds, not in the second Rich's layout takes (issue 15's
    target: the report within a quarter of the check). A table wider than the console, or a title
    or caption that would wrap, goes to Rich's own layout, which knows how to shrink it."""
    from rich.text import Text

    for row in rows:
        for column, most in MOST_CELLS:
            if row[column].cell_len > most:
                row[column].truncate(most, overflow="ellipsis")
    lengths = [[cell.cell_len for cell in row] for row in rows]
    widths = [max([len(heading)] + [row[i] for row in lengths]) for i, heading in enumerate(COLUMNS)]
    width = sum(widths) + 3 * (len(widths) - 1) + 2
    if width <= console.width and title.cell_len <= width and caption.cell_len <= width:
        heading = [Text(h) for h in COLUMNS]
        lines = [
            _padded(title, width),
            Text(" " * width),
            _row(heading, [len(h) for h in COLUMNS], widths, "bold"),
        ]
        lines.append(Text(" " + "─" * (width - 2) + " "))
        lines += [_row(row, cells, widths) for row, cells in zip(rows, lengths, strict=True)]
        lines += [Text(" " * width), _padded(caption, width)]
        return Text("\n", no_wrap=True).join(lines)
    return rich_table(title, caption, rows)


def rich_table(title: Any, caption: Any, rows: list[list[Any]]) -> Any:
    """The node table laid out by Rich (for tables too wide for the console)."""
    from rich import box
    from rich.table import Table

    table = Table(
        title=title,
        title_justify="left",
        caption=caption,
        caption_justify="left",
        header_style="bold",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for i, heading in enumerate(COLUMNS):
        most = dict(MOST_CELLS).get(i)
        extra = {"overflow": "ellipsis", "max_width": most} if most else {}
        table.add_column(heading, justify="right" if i in RIGHT else "left", no_wrap=True, **extra)
    for row in rows:
        table.add_row(*row)
    return table


def _padded(text: Any, width: int) -> Any:
    line = text.copy()
    line.pad_right(width - line.cell_len)
    return line


def _row(cells: list[Any], lengths: list[int], widths: list[int], style: str = "") -> Any:
    """One table line: the cells padded to their widths, 3 cells apart, their styles kept."""
    from rich.text import Span, Text

    parts, spans, at = [" "], [], 1
    for i, (cell, length, width) in enumerate(zip(cells, lengths, widths, strict=True)):
        if i:
            parts.append("   ")
            at += 3
        gap = " " * (width - length)
        start = at + (len(gap) if i in RIGHT else 0)
        text = cell.plain
        parts += [gap, text] if i in RIGHT else [text, gap]
        if cell.style:
            spans.append(Span(start, start + len(text), cell.style))
        spans += [Span(start + span.start, start + span.end, span.style) for span in cell.spans]
        at += len(gap) + len(text)
    parts.append(" ")
    return Text("".join(parts), style=style, spans=spans, no_wrap=True)


def print_check(console: Any, scenario: Any, bug: str | None, trace: Any, result: Any) -> None:
    """The check as a table; every user string (names, titles, formulas, messages) goes in as Text."""
    from rich.text import Text

    from tui_backprop.teach.step_words import compact

    settings = result.settings
    title = Text.assemble((scenario.slug, "bold"), "  ", scenario.title)
    if bug:
        title.append(f"  bug: {bug}", style="magenta")
    caption = Text(
        f"{trace.graph.dtype_name}  eps {settings.eps:g}  rtol {settings.rtol:g}  "
        f"atol {settings.atol:g}  output {trace.output.name} = {trace.loss:.6g}"
    )
    rows = []
    for node in trace.graph.nodes:
        nc = result.nodes[node.name]
        symbol, style = STATUS_STYLE[nc.status]
        status = Text(f"{symbol} {nc.status}", style=style)
        if nc.status == "ok" and any(c.n_covered for _, c in nc.comparisons()):
            status = Text("✓ verified by projection", style="cyan")  # README: never "ok" unless compared
        if nc.blamed:
            status.append(" ◀ blamed", style="bold red")
        err = f"{nc.grad.max_rel_err:.1e}" if nc.grad is not None and nc.grad.n_probed else "-"
        if nc.blamed and nc.local:  # the local error is what blamed it
            err = f"{max(c.max_rel_err for c in nc.local.values()):.1e} local"
        rows.append(
            [
                Text(node.name, style="bold red" if nc.blamed else ""),
                Text(node.op.name if node.op else node.kind),
                Text("x".join(map(str, trace.values[node.name].shape)) or "()"),
                Text(compact(trace.grads[node.name], 3)),
                Text(err),
                status,
            ]
        )
    table = node_table(console, title, caption, rows)
    console.print(table, soft_wrap=isinstance(table, Text))  # our lines fit: no wrapping to compute
    for name in result.blame:
        nc = result.nodes[name]
        node = trace.graph[name]
        why = nc.note or "its backward rule disagrees with finite differences"
        wrong = [(i, node.inputs[i].name, c) for i, c in nc.local.items() if c.status == "mismatch"]
        for _, parent, c in wrong:
            why += f"; sends {parent} a gradient off by up to {c.max_rel_err:.1e} (relative)"
        console.print(Text.assemble((f"✗ blamed: {name}", "bold red"), f"  {node.formula()}: {why}"))
        for position, parent, c in wrong:
            if position in nc.diagnosis:
                console.print(Text.assemble("  → ", (f"{parent}: {nc.diagnosis[position]}", "bold")))
            console.print(differing_table(f"d{name}→{parent}", c))
    for name, nc in result.nodes.items():
        if nc.status == "nonfinite" and not nc.blamed:
            console.print(Text.assemble((f"! non-finite at {name}", "bold magenta"), f": {nc.note}"))
    for name, nc in result.nodes.items():
        if nc.status == "nondeterministic":
            console.print(Text.assemble((f"? {name}", "bold yellow"), f": {nc.note}"))
    for name, nc in result.nodes.items():
        if nc.float32_digits is not None and nc.float32_digits <= FLOAT32_WORDS:
            lost = f"float32 loses {7 - nc.float32_digits:.0f} of its 7 digits at {name}"
            console.print(Text(f"≈ {lost} (round-off, not a bug: its rule passes in float64)", style="cyan"))
    if trace.graph.dtype_name == "float64" and result.global_judged_in:
        console.print(
            Text(f"≈ judged in {result.global_judged_in}: float64 round-off does not apply", style="cyan")
        )
    for warning in trace.graph.warnings:
        console.print(Text.assemble(("⚠ warning", "bold yellow"), f": {warning}"))
    for line in unchecked_lines(trace, result):
        console.print(Text.assemble(("· unchecked", "dim"), f" {line}"))
    for label, how, names in (
        (
            "≈ projection",
            "verified as a whole by random directions, wrong elements searched by halving"
            " (--exhaustive checks every element)",
            projected_lines(trace, result),
        ),
        (
            "≈ through a rule",
            "carried back through an author's rule that its projection verified (covered within"
            " that projection's bound, not compared; --exhaustive compares them)",
            through_rule_lines(trace, result),
        ),
    ):
        if names:
            console.print(Text.assemble((label, "cyan"), f" {how}: {', '.join(names)}"))
    counts = "  ".join(f"{result.count(s)} {s}" for s in STATUS_STYLE if result.count(s))
    if result.n_unjudged:
        counts += f"  ({result.n_unjudged} element(s) could not be judged)"
    verdict = result.verdict
    word, style = VERDICT_STYLE[verdict]
    console.print(Text.assemble((word, style), f"  {counts}"))
    if verdict == "incomplete":
        console.print(Text(f"  {incomplete_line(result)}", style="yellow"))
    console.print()


VERDICT_STYLE = {
    "fail": ("FAIL", "bold red"),
    "incomplete": ("INCOMPLETE", "bold yellow"),
    "pass": ("PASS", "bold green"),
}


def incomplete_line(result: Any) -> str:
    """Which elements were left unchecked and why, summed over the nodes (exit code 3)."""
    by_reason: dict[str, tuple[int, list[str]]] = {}
    for name, counts in result.unchecked().items():
        for reason, count in counts.items():
            total, names = by_reason.get(reason, (0, []))
            by_reason[reason] = (total + count, names + [name])
    parts = []
    for reason, (total, names) in by_reason.items():
        where = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        parts.append(f"{total} element(s) of {where}: {reason}")
    return "no mismatch found, but not every element was checked: " + "; ".join(parts)


def projected_lines(trace: Any, result: Any) -> list[str]:
    """``s (what it sends to x, 4 directions)``: comparisons verified by projections, not per element."""
    found = []
    for node in trace.graph.nodes:
        nc = result.nodes.get(node.name)
        if nc is None:
            continue
        if nc.grad is not None and nc.grad.method == "projection":
            found.append(f"dL/d{node.name} ({nc.grad.directions} directions)")
        for i, c in nc.local.items():
            if c.method == "projection":
                found.append(
                    f"{node.name} (what it sends to {node.inputs[i].name}, {c.directions} directions)"
                )
    return found


def through_rule_lines(trace: Any, result: Any) -> list[str]:
    """``dL/dW1``: global gradients pulled back through an author's projected rule (covered)."""
    found = []
    for node in trace.graph.nodes:
        nc = result.nodes.get(node.name)
        if nc is not None and nc.grad is not None and nc.grad.method == "pull-back" and nc.grad.n_covered:
            found.append(f"dL/d{node.name}")
    return found


FLOAT32_WORDS = 3.0
"""A float32 node that keeps this many significant digits or fewer of what it sends is named."""

LISTED = 5
"""Differing elements listed per blamed input in `check`'s text; the rest are counted."""


def differing_table(label: str, c: Any) -> Any:
    """The first mismatching elements of what a blamed node sends: index, analytic, numeric, ratio."""
    import numpy as np
    from rich import box
    from rich.table import Table

    mismatches = c.differing()[: c.n_mismatch]
    table = Table(box=box.SIMPLE, pad_edge=False, show_edge=False, header_style="dim")
    table.add_column(f"  {label}", no_wrap=True)
    for heading in ("analytic", "numeric", "ratio"):
        table.add_column(heading, justify="right", no_wrap=True)
    for index in mismatches[:LISTED]:
        a, n = float(c.analytic[index]), float(c.numeric[index])
        ratio = f"{a / n:.4g}" if n != 0 and np.isfinite(n) else "-"
        table.add_row(f"  {list(index)}", f"{a:.6g}", f"{n:.6g}", ratio)
    if len(mismatches) > LISTED:
        table.add_row(f"  … {len(mismatches) - LISTED} more", "", "", "")
    return table


def unchecked_lines(trace: Any, result: Any) -> list[str]:
    """One line per comparison with elements that were probed but could not be judged."""
    lines = []
    for node in trace.graph.nodes:
        nc = result.nodes.get(node.name)
        if nc is None:
            continue
        parts = [("dL/d" + node.name, nc.grad)] if nc.grad is not None else []
        parts += [(f"what it sends to {node.inputs[i].name}", c) for i, c in nc.local.items()]
        for what, c in parts:
            for reason, count in c.reasons.items():
                lines.append(f"{node.name}: {count} element(s) of {what} could not be judged: {reason}")
    return lines
