"""Any key at any time is safe: seeded random keys, in bursts with no pause between them, across
every built-in scenario, the picker and a user's scenario file, resizing down to 20x5; and typed
phrases (hostile numbers, deep nesting, bad paths, very long input) into every prompt, each
opened by its key and then typed key by key or pasted, most once the prompt has the focus and
some straight after the key that opens it. ``q`` and ctrl+q are sent too: with nothing unsaved
the app quits and the fuzz starts it again; otherwise it asks first.

The short run here sends a few hundred keys. The long one is run by hand (README, Development):

    BACKPROP_FUZZ_KEYS=10000 pytest tests/test_fuzz_app.py -s

``BACKPROP_FUZZ_SEED`` picks another seed. A failure names the target, the seed and the last keys.
Saves go to a temporary folder that holds a FIFO; the user's scenario file is never written.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import pkgutil
import random
import time
from pathlib import Path

import pytest
from app_support import HOSTILE_PATHS, HOSTILE_PHRASES, settle, wait_for_workers
from textual import events
from textual.keys import _character_to_key
from textual.screen import Screen

import tui_backprop.app
from tui_backprop.app.app import make_app
from tui_backprop.core import scenarios

NOT_SENT = {"ctrl+c"}
"""Textual's own 'press ctrl+q to quit' notice: nothing of ours to fuzz."""
SIZES = [(20, 5), (24, 8), (30, 10), (40, 12), (60, 16), (80, 24), (100, 30), (120, 40)]
NAMED = {"space": " ", "question_mark": "?", "slash": "/", "plus": "+", "minus": "-", "equals_sign": "="}
USER_FILE = str(Path(__file__).parent / "scenario_files" / "softplus_wrong.py")
TARGETS = [*(s.slug for s in scenarios.builtins()), None, USER_FILE]
PROMPTS = ["i", "m", "ctrl+s", "M", "h", "e", "f", "T", "l", "a", "o", "ctrl+p", "x"]
"""Keys that open something to type into (``o``: the picker, then ``/`` its path box)."""
PHRASES = [
    *HOSTILE_PHRASES,
    *HOSTILE_PATHS,
    USER_FILE,
    "x = 2.5",
    "W1[1, 0] += 1e-4",
    "w0 -= 0.01",
    "W1[1, 0]",
    "0.105 * 3",
    "1e-30",
    "lr 0.05 momentum 0.9",
    "3",
    "digits 8",
    "follow W1[1, 0]",
    "train 5",
    "class.toml",
    "handout.md",
]
"""What is typed into a prompt: hostile input and the ordinary kind."""
LONG = int(os.environ.get("BACKPROP_FUZZ_KEYS", "0"))
SEED = int(os.environ.get("BACKPROP_FUZZ_SEED", "0"))


def bound_keys() -> set[str]:
    """Every key bound by the app or by any screen in its package (new screens included)."""
    keys: set[str] = set()
    for info in pkgutil.walk_packages(tui_backprop.app.__path__, "tui_backprop.app."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Screen) or cls.__name__ == "BackpropApp":
                for binding in getattr(cls, "BINDINGS", []):
                    keys.update(k.strip() for k in getattr(binding, "key", "").split(","))
    return keys


def key_pool() -> list[str]:
    """Bound keys, navigation keys, the palette, and letters, digits and punctuation to type."""
    navigation = ["up", "down", "left", "right", "pageup", "pagedown", "home", "end", "enter", "escape"]
    navigation += ["tab", "shift+tab", "backspace", "ctrl+p", "space"]
    typing = list("abcdefghijklmnoprstuvwxyzABCDEFGHIJKLMNOPRSTUVWXYZ0123456789.-+=/?[]{}")
    pool = sorted((bound_keys() | set(navigation) | set(typing)) - NOT_SENT - {""})
    return pool + ["enter", "escape", "n", "p", "ctrl+p"] * 3  # the keys users press most


def key_event(key: str) -> events.Key:
    if len(key) == 1:
        return events.Key(_character_to_key(key), key)
    return events.Key(key, NAMED.get(key))


async def type_phrase(app, pilot, rng: random.Random) -> list[str]:
    """Open a prompt by its key and type a phrase into it, then Enter; what was sent, for the log."""
    opener, phrase = rng.choice(PROMPTS), rng.choice(PHRASES)
    app.post_message(key_event(opener))
    if opener == "o":
        await pilot.pause()
        app.post_message(key_event("slash"))
    if rng.random() < 0.8:  # most once the prompt has the focus (Textual focuses on its next turn)
        await pilot.pause()
    if len(phrase) <= 60 and rng.random() < 0.5:
        for char in phrase:
            app.post_message(key_event(char))
    else:
        app.post_message(events.Paste(phrase))
    app.post_message(key_event("enter"))
    shown = phrase if len(phrase) <= 30 else f"{phrase[:20]}…({len(phrase)} chars)"
    return [f"<{opener} then {shown!r}>"]


async def fuzz(target: str | None, count: int, seed: int) -> tuple[int, int]:
    """Send ``count`` keys to the app opened on ``target``; how many keys and phrases were sent."""
    rng = random.Random(f"{seed}:{target}")
    pool = key_pool()
    sent, phrases, recent = 0, 0, []
    while sent < count:
        app = make_app(target)
        async with app.run_test(size=(120, 40)) as pilot:
            await settle(app, pilot)
            assert target is None or app.model.session is not None, f"{target} did not open"
            while sent < count and app.is_running:
                roll = rng.random()
                if roll < 0.06:
                    size = rng.choice(SIZES)
                    recent.append(f"<resize {size[0]}x{size[1]}>")
                    await pilot.resize_terminal(*size)
                elif roll < 0.12:
                    await wait_for_workers(app)  # sometimes let a load or a check land first
                elif roll < 0.30:
                    recent = (recent + await type_phrase(app, pilot, rng))[-40:]
                    sent, phrases = sent + 1, phrases + 1
                    await pilot.pause()
                    continue
                burst = rng.choices(pool, k=rng.randint(1, 12))
                for key in burst:
                    app.post_message(key_event(key))
                sent += len(burst)
                recent = (recent + burst)[-40:]
                await pilot.pause()
                assert app.return_code in (None, 0), f"{target} seed {seed}: last keys {recent}"
        assert app.return_code in (None, 0), f"{target} seed {seed}: last keys {recent}"
    return sent, phrases


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: Path(t).name if t else "picker")
def test_random_keys_and_typed_phrases_never_crash_the_app(target, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # ctrl+s or M, then Enter, saves a lesson or a handout: not into the repo
    os.mkfifo(tmp_path / "pipe.md")  # a save that opened it would block for ever
    os.mkfifo(tmp_path / "pipe.toml")
    user_file = Path(USER_FILE).read_bytes()
    count = max(1, LONG // len(TARGETS)) if LONG else (40 if target == "deep-mlp" else 80)
    started = time.perf_counter()
    sent, phrases = asyncio.run(fuzz(target, count, SEED))
    if LONG:
        elapsed = time.perf_counter() - started
        print(
            f"\nfuzz {target or 'picker'}: {sent} keys ({phrases} of them typed phrases), "
            f"0 crashes, seed {SEED}, {elapsed:.0f} s"
        )
    assert sent >= count
    assert Path(USER_FILE).read_bytes() == user_file  # never saved over, whatever was typed
