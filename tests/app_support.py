"""Helpers the app tests share: run an async test, and wait for the app to settle without sleeping."""

from __future__ import annotations

import asyncio
import functools

from tui_backprop.app.app import BackpropApp


def sync(test):
    """Run an async test with asyncio.run (the suite has no async plugin)."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        asyncio.run(test(*args, **kwargs))

    return run


async def settle(app: BackpropApp, pilot) -> None:
    """Wait for the load and check workers to finish and their results to be drawn; never sleep."""
    for _ in range(200):
        await app.workers.wait_for_complete()
        await pilot.pause()
        session = app.session
        if app.loading is None and (session is None or session.check_complete) and not app._refresh_pending:
            return
    raise AssertionError("the app did not settle")
