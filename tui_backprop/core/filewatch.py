"""Noticing that a user's scenario files were saved: ``stat`` polling, no dependency.

A save is any change of modification time, size, inode or status-change time: an atomic rename
that keeps size and mtime (``cp -p``, ``rsync -t``, many editors) still brings a new inode or
ctime, so it is noticed too.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path


def _stamp(path: Path) -> tuple[int, ...] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None  # deleted or mid-save: a change, and polling goes on
    return info.st_mtime_ns, info.st_size, info.st_ino, info.st_dev, info.st_ctime_ns


class FileWatcher:
    """Remembers when each watched file last changed; ``poll`` says whether any has since."""

    def __init__(self, paths: Iterable[Path]) -> None:
        self.watch(paths)

    def watch(self, paths: Iterable[Path]) -> None:
        """Watch these files now (after a reload the set of imported modules may differ).

        A file already watched keeps the stamp it was last polled at, so a save made while a
        reload was still building is still seen by the next ``poll``.
        """
        old = getattr(self, "_stamps", {})
        self.paths = sorted({Path(p) for p in paths})
        self._stamps = {p: old[p] if p in old else _stamp(p) for p in self.paths}

    def poll(self) -> bool:
        changed = False
        for path in self.paths:
            stamp = _stamp(path)
            if stamp != self._stamps[path]:
                self._stamps[path] = stamp
                changed = True
        return changed
