"""What the screens look like, as SVG snapshots at 120x40 and 80x24 (pytest-textual-snapshot).

Each snapshot waits for the load and check workers (no sleeping) and presses its keys inside
``run_before``, waiting again after keys that rebuild the trace. Regenerate after a deliberate
change with ``pytest tests/test_app_snapshots.py --snapshot-update`` and look at the SVGs.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from app_support import settle

from tui_backprop.app.app import make_app

SIZES = [pytest.param((120, 40), id="120x40"), pytest.param((80, 24), id="80x24")]
FILES = Path(__file__).parent / "scenario_files"


def keys_then_settle(*batches: tuple[str, ...]):
    """Settle, then press each batch of keys and settle again after it."""

    async def run_before(pilot) -> None:
        await settle(pilot.app, pilot)
        for batch in batches:
            await pilot.press(*batch)
            await settle(pilot.app, pilot)

    return run_before


@pytest.mark.parametrize("size", SIZES)
def test_picker(snap_compare, size):
    assert snap_compare(make_app(None), terminal_size=size, run_before=keys_then_settle())


@pytest.mark.parametrize("size", SIZES)
def test_forward_step(snap_compare, size):
    app = make_app("two-layer-net")
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(("n",)))


@pytest.mark.parametrize("size", SIZES)
def test_backward_step_with_fan_out(snap_compare, size):
    app = make_app("l1-mse")
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(("end", "p")))


@pytest.mark.parametrize("size", SIZES)
def test_mismatch_with_a_bug_on(snap_compare, size):
    app = make_app("sigmoid-chain", "reciprocal-sign")
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(("c",)))


@pytest.mark.parametrize("size", SIZES)
def test_mismatching_elements_highlighted_in_a_tensor(snap_compare, size):
    app = make_app("two-layer-net")
    # Switch the bug on from the bug chooser (x), then continue to the blamed node.
    run_before = keys_then_settle(("x",), ("down", "down", "enter"), ("c",))
    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_help_screen(snap_compare, size):
    app = make_app("sigmoid-chain")
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(("question_mark",)))


@pytest.mark.parametrize("size", SIZES)
def test_error_screen(snap_compare, size, monkeypatch):
    monkeypatch.chdir(FILES)  # paths are shown relative to the working directory
    app = make_app("syntax_error.py")
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle())


def test_tiny_terminal(snap_compare):
    app = make_app("softmax")
    assert snap_compare(app, terminal_size=(40, 12), run_before=keys_then_settle(("{",)))


def test_full_tensor_view(snap_compare):
    app = make_app("deep-mlp", "relu-passes-negatives")
    run_before = keys_then_settle(("end", "v", "tab"))
    assert snap_compare(app, terminal_size=(120, 40), run_before=run_before)
