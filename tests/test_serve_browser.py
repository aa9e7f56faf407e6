"""The served app in a real browser: Debian's chromium, headless, at 1280x800.

The page says what it is starting until the app's first frame replaces it; at the font size the
printed URL asks for, the sigmoid chain's whole circuit fits across; a key typed into the page
reaches the app and changes the screen. A browser is slow to start, so this runs when
``BACKPROP_BROWSER=1`` (``.ci/run`` sets it, after installing chromium where it is missing).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from browser_support import Browser, chromium
from test_serve_guest import Served

ROOT = Path(__file__).resolve().parent.parent
SIGMOID_CIRCUIT = 118
"""Columns of the sigmoid chain's whole circuit (tests/test_circuit.py holds it under 120)."""

pytestmark = pytest.mark.skipif(
    os.environ.get("BACKPROP_BROWSER") != "1", reason="a real browser: BACKPROP_BROWSER=1 (CI sets it)"
)


async def visit(url: str) -> None:
    assert chromium(), "BACKPROP_BROWSER=1 but no chromium here: apt-get install chromium"
    async with Browser(1280, 800) as page:
        await page.goto(url)
        starting = await page.wait_for("document.getElementById('starting')?.textContent")
        assert "starting sigmoid-chain" in " ".join(starting.split())
        await page.wait_for("document.body.classList.contains('-first-byte')")
        assert await page.evaluate("getComputedStyle(document.getElementById('starting')).display") == "none"
        assert await page.wait_for("getComputedStyle(document.getElementById('terminal')).opacity === '1'")
        size = parse_qs(urlparse(page.sockets[-1]).query)
        assert int(size["width"][0]) > SIGMOID_CIRCUIT  # the whole circuit and a scroll bar fit across
        first = await page.settled()
        await page.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        await page.press("n")
        for _ in range(100):
            if await page.screenshot() != first:
                break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError("the screen did not change after a key")


def test_the_served_page_starts_then_becomes_the_app_and_answers_a_key():
    served = Served(ROOT, "sigmoid-chain")
    try:
        url = served.banner.strip().split(" at ", 1)[1]  # the URL the lecturer is told to open, as printed
        asyncio.run(asyncio.wait_for(visit(url), timeout=120))
    finally:
        served.stop()
