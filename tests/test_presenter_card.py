"""The presenter card: tensors as numbers, matrix rules and the softmax Jacobian laid out with their
numbers, the circuit around the gate in the circuit's colours, all of it on an 80x24 card."""

from __future__ import annotations

import pytest
from app_support import settle, sync
from session_support import session_of

from tui_backprop.app.app import make_app
from tui_backprop.app.look import styles as st
from tui_backprop.app.presenter import card as pc


def card_at(slug: str, bug: str | None, node: str, phase: str = "backward", width: int = 116) -> pc.Card:
    session = session_of(slug, bug, True)
    session.go(session.step_of(node, phase))
    return pc.card(session, width=width)


def test_a_tensor_is_its_numbers_never_a_norm():
    card = card_at("two-layer-net", None, "z1")
    value, upstream = card.main
    assert value.rows == ("[0.4408; 0.6866]",) and not value.digits
    assert upstream.rows == ("[-0.01322; -0.1972]",)
    assert "‖" not in card.formula.plain and "[0.3745 0.9507; 0.732 0.5987]" in card.formula.plain
    assert [n.label for n in card.sent] == ["sends dL/dW1   2×2", "sends dL/dx   2×1", "sends dL/db1   2×1"]
    assert card.sent[0].rows[0].startswith("⎡")  # dW1 as a 2×2 matrix


def test_a_matrix_rule_is_laid_out_with_its_numbers_and_a_wrong_rule_beside_it_marked():
    card = card_at("two-layer-net", "matmul-grad-transposed", "z1")
    text = card.local.plain
    assert "dW1 = dz1 · xᵀ = ⎡-0.01322⎤ · [0.7081 0.02058] = ⎡-0.009364 -0.0002722⎤" in text
    assert "the backward rule sends ⎡-0.009364   -0.1396!⎤" in text
    marked = [text[s.start : s.end] for s in card.local.spans if s.style == st.BLAME]
    assert sorted(marked) == ["-0.0002722!", "-0.1396!"]
    assert "!" not in "".join(card_at("two-layer-net", None, "z1").local.plain.split("dW1")[1][:200])
    sent = card.sent[0].rows
    assert [row.count("!") for row in sent] == [1, 1]  # what it sends, its wrong elements marked


def test_a_narrow_card_puts_what_the_rule_sends_under_the_textbook_matrix():
    card = card_at("two-layer-net", "matmul-grad-transposed", "z1", width=76)
    lines = card.local.plain.split("\n")
    first = next(i for i, line in enumerate(lines) if line.startswith("dW1 = "))
    assert "the backward rule sends" not in lines[first]
    assert lines[first + 2].lstrip().startswith("the backward rule sends")
    assert max(len(line) for line in lines[first : first + 4]) <= 76


def test_the_softmax_card_shows_its_jacobian_and_what_it_sends():
    text = card_at("softmax", None, "s").local.plain
    assert "J = diag(s) - s sᵀ = ⎡ 0.1966 -0.1966⎤" in text
    assert "dx = Jᵀ · ds = ⎡ 0.1966 -0.1966⎤ · ⎡ 0    ⎤ = ⎡ 0.2689⎤" in text
    bugged = card_at("softmax", "elementwise-derivative", "s").local.plain
    assert "the backward rule sends" in bugged


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
@sync
async def test_the_card_carries_the_circuit_around_the_gate_in_the_circuits_colours(size):
    from tui_backprop.app.presenter.screen import PresenterCard

    app = make_app("sigmoid-chain")
    async with app.run_test(size=size) as pilot:
        await settle(app, pilot)
        await pilot.press("end", "P")
        await pilot.pause()
        card = app.screen.query_one(PresenterCard)
        circuit = "\n".join(line.plain for line in card.card.circuit)
        assert "0.105 × 3 = 0.315" in circuit and "0.105 × 2 = 0.21" in circuit and "×" in circuit
        styles = {span.style for line in card.card.circuit for span in line.spans}
        assert {st.WIRE_VALUE, st.WIRE_GRAD, st.CALLOUT, st.WIRE} <= styles
        shown = card.plain
        assert "0.105 × 3 = 0.315" in shown  # on screen, not only in the parts
        assert "✓ ok" in shown and "sends dL/dw0" in shown  # and the card still ends with its verdict


def test_the_inspector_lays_a_matrix_rule_out_as_matrices_within_its_width():
    from tui_backprop.app.inspector.text import inspector

    session = session_of("two-layer-net", "matmul-grad-transposed", True)
    session.go(session.step_of("z1", "backward"))
    lines = inspector(session, "z1", 60).plain.split("\n")
    at = next(i for i, line in enumerate(lines) if line.lstrip().startswith("dW1 = dz1 · xᵀ = ⎡-0.01322⎤"))
    assert lines[at + 1].lstrip().startswith("⎣-0.1972 ⎦")  # a column, over two rows
    assert "the backward rule sends ⎡-0.009364   -0.1396!⎤" in "\n".join(lines[at : at + 6])
    assert max(len(line) for line in lines) <= 60
