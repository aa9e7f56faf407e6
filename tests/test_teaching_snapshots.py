"""The lecture hall as SVG snapshots at 120x40 and 80x24: the circuit view and presenter mode.

Regenerate after a deliberate change with ``pytest tests/test_teaching_snapshots.py --snapshot-update``
and look at every SVG before committing it.
"""

from __future__ import annotations

import pytest
from test_app_snapshots import SIZES, keys_then_settle

from tui_backprop.app.app import make_app


@pytest.mark.parametrize("size", SIZES)
def test_circuit_at_the_end_of_the_forward_pass(snap_compare, size):
    app = make_app("sigmoid-chain")
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(("g", "]")))


@pytest.mark.parametrize("size", SIZES)
def test_circuit_mid_backward_shows_the_chain_rule_product(snap_compare, size):
    app = make_app("sigmoid-chain")
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(("g", "]", "n", "n", "n", "n")))


@pytest.mark.parametrize("size", SIZES)
def test_circuit_of_the_two_layer_net_mid_backward(snap_compare, size):
    app = make_app("two-layer-net")
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(("g", "end", "p", "p")))


@pytest.mark.parametrize("size", SIZES)
def test_circuit_shows_the_fan_out_sum(snap_compare, size):
    app = make_app("l1-mse")
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(("g", "end")))


@pytest.mark.parametrize("size", SIZES)
def test_circuit_frames_the_blamed_gate(snap_compare, size):
    app = make_app("sigmoid-chain", "reciprocal-sign")
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(("g", "c")))


@pytest.mark.parametrize("size", SIZES)
def test_presenter_mode(snap_compare, size):
    app = make_app("sigmoid-chain")
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(("end", "P")))
