"""Any key at any time is safe: hundreds of seeded random keys per scenario, resizing down to 40x12."""

from __future__ import annotations

import asyncio
import random

import pytest
from textual import events
from textual.keys import _character_to_key

from tui_backprop.app import keys
from tui_backprop.app.app import make_app

QUIT = {"q", "ctrl+q", "ctrl+c"}
SIZES = [(40, 12), (50, 14), (60, 16), (80, 24), (100, 30), (120, 40)]
CHARACTERS = {"space": " ", "question_mark": "?", "slash": "/"}


def key_pool() -> list[str]:
    """Every bound key (but quitting), the list and modal keys, and some typing."""
    bound = [k.strip() for b in keys.DEBUGGER + keys.GLOBAL for k in b.key.split(",")]
    extra = ["up", "down", "pageup", "pagedown", "enter", "escape", "tab", "shift+tab", "backspace", "slash"]
    typing = list("aehjklmuwyz0123456789.-")
    return [k for k in bound + extra + typing if k not in QUIT]


def key_event(key: str) -> events.Key:
    if len(key) == 1:
        return events.Key(_character_to_key(key), key)
    return events.Key(key, CHARACTERS.get(key))


async def fuzz(slug: str, count: int, seed: int) -> None:
    rng = random.Random(seed)
    pool = key_pool()
    app = make_app(slug)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(20):
            await app.workers.wait_for_complete()
            await pilot.pause()
        sent = 0
        while sent < count:
            if rng.random() < 0.08:
                await pilot.resize_terminal(*rng.choice(SIZES))
            for key in rng.choices(pool, k=8):
                app.post_message(key_event(key))
                sent += 1
            await pilot.pause()
        await pilot.resize_terminal(40, 12)
        for key in ("escape", "escape", "n", "p", "v", "escape", "question_mark", "escape"):
            app.post_message(key_event(key))
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.is_running


@pytest.mark.parametrize(
    ("slug", "count"),
    [("sigmoid-chain", 240), ("l1-mse", 240), ("two-layer-net", 240), ("softmax", 240), ("deep-mlp", 120)],
)
def test_random_keys_and_resizes_never_crash_the_app(slug, count, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # ctrl+s then Enter saves a lesson file: not into the repository
    asyncio.run(fuzz(slug, count, seed=sum(map(ord, slug))))
