"""Background work as the services ask for it: ``spawn`` a coroutine in a group, the newest one wins.

Work is passed as a coroutine *function* (with its arguments bound), not a coroutine: a worker
cancelled before it starts (a newer one in its group, the app exiting) then never creates one,
so none is left unawaited.

The App runs them as Textual workers (cancelled when the app exits, awaited by the tests);
``AsyncioTasks`` runs them as plain asyncio tasks, for driving a service with no App at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

Work = Callable[[], Coroutine[Any, Any, None]]


class Tasks(Protocol):
    def spawn(self, work: Work, group: str) -> None:
        """Run ``work`` in the background; a newer one in the same group cancels this one."""


class AsyncioTasks:
    """``Tasks`` on the running asyncio loop; ``wait`` until everything spawned is done."""

    def __init__(self) -> None:
        self.running: dict[str, asyncio.Task[None]] = {}

    def spawn(self, work: Work, group: str) -> None:
        older = self.running.get(group)
        if older is not None:
            older.cancel()
        self.running[group] = asyncio.ensure_future(work())

    async def wait(self) -> None:
        while any(not task.done() for task in self.running.values()):
            await asyncio.gather(*self.running.values(), return_exceptions=True)
