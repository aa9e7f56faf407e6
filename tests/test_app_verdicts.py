"""The app's share of the verdicts: what `v` lists for a blamed node, warnings and diagnosis shown."""

from __future__ import annotations

from pathlib import Path

from session_support import session_of

from tui_backprop.app.debugger.status_text import status_line
from tui_backprop.app.inspector.tensor_screen import layers_for

FILES = Path(__file__).parent / "scenario_files"


def test_v_on_a_blamed_node_lists_the_mismatching_elements_of_what_it_sends():
    session = session_of(str(FILES / "course_mistakes.py"), "loss-sign")
    session.step = session.trace.backward_index["loss"]
    layers, comparison = layers_for(session, "loss")
    assert comparison is not None and comparison.n_mismatch == 10  # dloss/ddense2, 5x2, all wrong
    assert "sent to dense2 analytic" in [layer.title for layer in layers]
    session.step = session.trace.backward_index["loss"] - 1  # not reached yet: nothing told early
    assert layers_for(session, "loss")[1] is None


def test_the_status_line_counts_warnings():
    session = session_of(str(FILES / "dict_params.py"))
    line = status_line(session, "dict-params", None, width=200)
    assert "⚠ 1 warning" in line.plain
    assert "warning" not in status_line(session_of("two-layer-net"), "t", None, width=200).plain


def test_the_status_line_says_a_forward_is_not_deterministic():
    session = session_of(str(FILES / "dropout_fresh_mask.py"))
    session.step = session.n_steps - 1
    line = status_line(session, "dropout", None, width=200).plain
    assert "? 1 not deterministic" in line and "mismatch" not in line
