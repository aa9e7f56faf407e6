"""Running the author's code off the UI thread in a thread nobody ever waits for.

A scenario's ``build`` (or its forward during the check, or a plugin's import) may never return.
Textual's thread workers run in asyncio's default executor, whose threads are joined when the
loop closes and again at interpreter exit, so one stuck build would keep ``q`` from ever ending
the process. Here the code runs in a daemon thread and an async worker awaits its outcome: a
cancelled worker (superseded by a newer load, or the app exiting) simply stops waiting, and the
process exits without joining the abandoned thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What the call returned, or the exception it raised (any: SystemExit and KeyboardInterrupt too)."""

    value: T | None = None
    error: BaseException | None = None


async def run_in_daemon(name: str, call: Callable[..., T], *args: Any) -> Outcome[T]:
    """Run ``call(*args)`` in a daemon thread; await its ``Outcome`` without ever raising it."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[Outcome[T]] = loop.create_future()

    def settle(outcome: Outcome[T]) -> None:
        if not future.done():  # the awaiting worker may have been cancelled meanwhile
            future.set_result(outcome)

    def run() -> None:
        try:
            outcome: Outcome[T] = Outcome(value=call(*args))
        except BaseException as exc:  # the author's code: sys.exit() must not end the app
            outcome = Outcome(error=exc)
        with contextlib.suppress(RuntimeError):  # the app closed its loop: nobody is waiting
            loop.call_soon_threadsafe(settle, outcome)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future
