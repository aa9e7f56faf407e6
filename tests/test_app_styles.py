"""Colours live in the stylesheet: no colour in Python, a rule for every style name, themes restyle.

Views give their text style *names* (``bp.ok``); ``app.tcss`` has a ``.bp--NAME`` rule for each,
and the App resolves them through its console (``look/styles.py``), so a Textual theme (the
projector's) changes every view.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import pytest
from app_support import settle, sync

from tui_backprop.app.look import styles as st

PACKAGE = Path(__file__).resolve().parent.parent / "tui_backprop"
HEX = re.compile(r"#[0-9a-fA-F]{3}(?:[0-9a-fA-F]{3})?\b")
STYLESHEET = (PACKAGE / "app" / "app.tcss").read_text(encoding="utf-8")


def strings_of(path: Path) -> list[tuple[int, str]]:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return [(t.start[0], t.string) for t in tokens if t.type == tokenize.STRING]


APP_MODULES = sorted((PACKAGE / "app").rglob("*.py"))


@pytest.mark.parametrize("path", APP_MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_colour_is_written_in_python(path):
    found = [(line, text) for line, text in strings_of(path) if HEX.search(text)]
    assert not found, f"put the colour in app.tcss and name it in look/styles.py: {found}"


def test_every_style_name_has_a_rule_and_every_name_used_is_declared():
    ruled = set(re.findall(r"\.bp--([a-z0-9-]+)\s*[{,]", STYLESHEET))
    assert set(st.NAMES) <= ruled, f"no rule in app.tcss for: {sorted(set(st.NAMES) - ruled)}"
    used = {
        text.strip("\"'")[len(st.PREFIX) :]
        for path in (PACKAGE / "app").rglob("*.py")
        for _, text in strings_of(path)
        if text.strip("\"'").startswith(st.PREFIX)
    }
    assert used <= set(st.NAMES) | {""}, f"not declared in look/styles.py: {sorted(used - set(st.NAMES))}"


def test_a_named_style_resolves_to_its_rule_only_inside_the_app():
    from rich.console import Console

    plain = Console(file=io.StringIO(), force_terminal=True, color_system="truecolor")
    text = st.styled("ok", st.OK)
    plain.print(text)  # no App, no theme: the name resolves to no style, and nothing fails
    assert text.spans[0].style == st.OK


@sync
async def test_the_projector_theme_restyles_every_view():
    from tui_backprop.app.app import make_app
    from tui_backprop.app.debugger.status import StatusBar

    app = make_app("sigmoid-chain")
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        status = app.debugger.query_one(StatusBar)

        def dim_colours() -> set[str]:
            strip = status.render_line(0)
            return {seg.style.color.name for seg in strip if seg.text.strip() == "│" and seg.style.color}

        assert app.console.get_style(st.DIM).color.triplet.hex == "#8a8a8a"
        assert dim_colours() == {"#8a8a8a"}
        app.theme = "projector"
        await pilot.pause()
        await pilot.pause()
        assert app.console.get_style(st.DIM).color.triplet.hex == "#ffffff"
        assert dim_colours() == {"#ffffff"}
