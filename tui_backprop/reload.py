"""Noticing that a user's scenario files were saved: modification-time polling, no dependency."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None  # deleted or mid-save: a change, and polling goes on
    return info.st_mtime_ns, info.st_size


class FileWatcher:
    """Remembers when each watched file last changed; ``poll`` says whether any has since."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.watch(paths)

    def watch(self, paths: Iterable[Path]) -> None:
        """Start over with these files (after a reload the set of imported modules may differ)."""
        self.paths = sorted({Path(p) for p in paths})
        self._stamps = {p: _stamp(p) for p in self.paths}

    def poll(self) -> bool:
        changed = False
        for path in self.paths:
            stamp = _stamp(path)
            if stamp != self._stamps[path]:
                self._stamps[path] = stamp
                changed = True
        return changed
