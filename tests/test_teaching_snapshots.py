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
def test_circuit_shows_matrices_and_the_transposed_bug_on_the_picture(snap_compare, size):
    """dW1 as a 2×2 block (one line at 80x24) with the wrong elements marked !, the gate framed."""
    app = make_app("two-layer-net", "matmul-grad-transposed")
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(("g", "end")))


@pytest.mark.parametrize("step", [11, 12])
def test_circuit_at_80x24_keeps_every_lit_wire_on_screen(snap_compare, step):
    """The sigmoid chain's last two steps: b sends to a and w1, a sends to x and w0 (issue 17)."""
    app = make_app("sigmoid-chain")
    keys = ("g", "end") + ("p",) * (12 - step)
    assert snap_compare(app, terminal_size=(80, 24), run_before=keys_then_settle(keys))


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


@pytest.mark.parametrize("size", SIZES)
def test_presenter_card_of_the_softmax_with_its_jacobian(snap_compare, size):
    """J = diag(s) - s sᵀ with its numbers and what it sends, the circuit around the gate."""
    app = make_app("softmax")
    assert snap_compare(app, terminal_size=size, run_before=keys_then_settle(("end", "P")))
