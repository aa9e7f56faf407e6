"""check's text lays its node table out line by line (fast on 1,003 nodes); it must read exactly as
Rich's table layout would, and leave a table too wide for the console to Rich."""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from tui_backprop.check.gradcheck import CheckSettings, check
from tui_backprop.cli import report
from tui_backprop.core import scenarios


def text_of(spec: str, bug: str | None, width: int, layout=None) -> str:
    scenario = scenarios.load(spec)
    trace = scenarios.trace_scenario(scenario, bug)
    result = check(trace, CheckSettings.for_dtype("float64", lean=True))
    out = io.StringIO()
    console = Console(file=out, width=width, markup=False, emoji=False, highlight=False, color_system=None)
    if layout is not None:
        original, report.node_table = report.node_table, layout
    try:
        report.print_check(console, scenario, bug, trace, result)
    finally:
        if layout is not None:
            report.node_table = original
    return out.getvalue()


def rich_layout(_console, title, caption, rows):
    return report.rich_table(title, caption, rows)


@pytest.mark.parametrize(
    ("spec", "bug"),
    [
        ("sigmoid-chain", "reciprocal-sign"),
        ("two-layer-net", "sigmoid-missing-factor"),
        ("deep-mlp", None),
        ("softmax", "elementwise-derivative"),
        ("tests/scenario_files/sqrt_at_boundary.py", None),
    ],
)
def test_the_line_layout_reads_exactly_as_richs_table(spec, bug):
    assert text_of(spec, bug, 120) == text_of(spec, bug, 120, rich_layout)


def test_a_table_wider_than_the_console_is_left_to_rich_which_shrinks_it():
    narrow = text_of("deep-mlp", None, 50)
    assert all(len(line) <= 50 for line in narrow.splitlines())
    assert narrow == text_of("deep-mlp", None, 50, rich_layout)


def test_a_long_name_and_a_32_dimensional_shape_leave_the_numbers_and_the_status_their_room(tmp_path):
    path = tmp_path / "wide.py"
    path.write_text(
        "import numpy as np\nfrom tui_backprop import ops\n\n"
        "def build(g, bug=None):\n"
        "    w = g.param('w' * 80, np.linspace(-1, 1, 6).reshape((2, 3) + (1,) * 30))\n"
        "    return ops.sum(ops.square(w, name='q'), name='L')\n"
    )
    text = text_of(str(path), None, 120)
    assert text == text_of(str(path), None, 120, rich_layout)
    rows = [line for line in text.splitlines() if line.startswith((" www", " q ", " L "))]
    assert len(rows) == 3 and all(len(line) <= 120 and line.rstrip().endswith("✓ ok") for line in rows)
    assert "e-" in rows[0] and "…" in rows[0]  # its max rel err, after the name and shape cut short


def test_the_summary_line_counts_the_nodes_of_each_status():
    """check's last line: the verdict and how many nodes ended in each status (11 nodes here)."""
    lines = [line for line in text_of("two-layer-net", "sigmoid-missing-factor", 120).splitlines() if line]
    assert lines[-1] == "FAIL  2 ok  9 mismatch"
