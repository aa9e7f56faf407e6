"""Guest mode: what a served copy of the app may touch on the server (README "Serve it to a browser").

``backprop-tui serve`` starts one app process per browser connection, so whoever sits at that
browser is a guest on the server: the keys they type must not reach the server's files. A process
in guest mode opens only the files it was served with (the scenario or the lesson, and the scenario
a lesson names) and the built-ins, never a plugin, never another path; live reload watches only
those files; and it writes nothing: saving a lesson or a handout is the app's to deliver to the
browser instead.

The writing half does not rely on every place that might write remembering to ask: ``enter``
installs an audit hook (PEP 578), so any attempt of the process to open a file for writing, remove,
rename or create one, or start another program, fails with ``PermissionError`` wherever it comes
from. Python allows no audit hook to be removed, and guest mode, once entered, lasts as long as the
process. An audit hook is no sandbox against hostile Python code; here the code is ours and the
lecturer's, and only the keys are the guest's.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

GUEST_FLAG = "--guest"
"""How ``serve`` starts each app process in guest mode (a hidden option of the app command)."""
REFUSED = "a served copy of the app writes no files and runs no programs on the server"

_WRITES = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_ALTERS = frozenset(
    {
        "os.chflags",
        "os.chmod",
        "os.chown",
        "os.link",
        "os.mkdir",
        "os.mkfifo",
        "os.mknod",
        "os.remove",
        "os.removexattr",
        "os.rename",
        "os.rmdir",
        "os.setxattr",
        "os.symlink",
        "os.truncate",
        "os.utime",
        "shutil.chown",
        "shutil.copyfile",
        "shutil.copymode",
        "shutil.copystat",
        "shutil.copytree",
        "shutil.make_archive",
        "shutil.move",
        "shutil.rmtree",
        "shutil.unpack_archive",
    }
)
"""Audit events that change the file system."""
_RUNS = frozenset(
    {
        "os.exec",
        "os.fork",
        "os.forkpty",
        "os.posix_spawn",
        "os.spawn",
        "os.system",
        "pty.spawn",
        "subprocess.Popen",
    }
)
"""Audit events that start another program."""


@dataclass(frozen=True)
class Guest:
    """The files a guest process may open, resolved."""

    files: frozenset[Path]

    def allows(self, path: str | os.PathLike[str]) -> bool:
        return _resolved(path) in self.files


_guest: Guest | None = None


def enter(files: Iterable[str | os.PathLike[str]]) -> Guest:
    """Make this process a guest's for good: only ``files`` (and the built-ins) may be opened, and
    nothing may be written. Entering again keeps the first set of files."""
    global _guest
    if _guest is None:
        _guest = Guest(frozenset(_resolved(f) for f in files))
        sys.dont_write_bytecode = True  # imports still to come must not write their caches
        sys.addaudithook(_refuse_writes)
    return _guest


def active() -> Guest | None:
    """The guest policy of this process, or None when it is nobody's guest."""
    return _guest


def refusal(path: str | os.PathLike[str]) -> str | None:
    """Why a guest may not open ``path`` (None: it may, or this process is nobody's guest)."""
    if _guest is None or _guest.allows(path):
        return None
    return (
        f"a served copy of the app opens only what it was served with and the built-in scenarios, "
        f"not {os.fspath(path)}"
    )


def _resolved(path: str | os.PathLike[str]) -> Path:
    try:
        return Path(os.path.expanduser(os.fspath(path))).resolve()
    except (OSError, RuntimeError, ValueError):  # a loop, an unknown ~user, a NUL: matches nothing
        return Path("/dev/null/unmatched")


def _refuse_writes(event: str, args: tuple[object, ...]) -> None:
    if event == "open":
        path, _, flags = args
        if isinstance(flags, int) and flags & _WRITES and not isinstance(path, int) and path != os.devnull:
            raise PermissionError(13, REFUSED, path)
    elif event in _ALTERS or event in _RUNS:
        raise PermissionError(13, REFUSED)
