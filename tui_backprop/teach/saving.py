"""Saving what the app made (a lesson, a handout) to a path a user typed: refused clearly, or written
whole.

``save_target`` turns any typed string into a ``SaveTarget`` or a ``SaveRefusedError`` with one line
that says why: empty, a control character (NUL), an unknown ``~user``, a directory (``.``, ``/``),
a missing folder, a FIFO, socket or device, a ``.py`` (scenario code is the author's, never ours to
write), the open scenario's own file, a folder we may not write in. A regular file already there is
not refused: ``SaveTarget.exists`` says so, and the caller asks before replacing it.

``write_atomically`` writes a temporary file beside the target and renames it over the target:
a reader never sees half a file, a crash leaves the old one whole, and a FIFO put in the target's
place meanwhile is replaced, never opened (opening one for writing would block until someone reads).

A process in guest mode (``core/guest.py``) is refused both: a served copy delivers to the browser,
under the file name ``download_name`` makes of what was typed.
"""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

from tui_backprop.core import guest
from tui_backprop.core.sandbox import shown

NEVER_WRITTEN = (".py", ".pyw", ".pyc")
"""Suffixes of files that may hold someone's code: refused whatever the caller saves."""
_SPECIAL = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


_NAME_MAX = 255
"""Bytes in one file name on the usual file systems (and browsers' downloads)."""


class SaveRefusedError(OSError):
    """A path that cannot or must not be written; the message says why in one line.

    An ``OSError``, so a caller that already reports failed writes reports these the same way.
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "cannot save here"


@dataclass(frozen=True)
class SaveTarget:
    """Where a save will go: an absolute path in an existing folder we may write in."""

    path: Path
    exists: bool
    """A regular file is there already: ask before replacing it."""


def save_target(
    typed: str,
    *,
    suffix: str | None = None,
    protected: Iterable[str | os.PathLike[str]] = (),
    cwd: str | os.PathLike[str] | None = None,
) -> SaveTarget:
    """The file a typed path names, checked; or ``SaveRefusedError``.

    ``suffix`` (``.toml``) replaces the name's own or is added when it has none, as ``Path.with_suffix``
    does; ``protected`` are files never to be written over (the open scenario and the files it
    imports); a relative path is taken from ``cwd`` (default: the working directory).
    """
    if guest.active():
        raise SaveRefusedError(guest.REFUSED)
    text = typed.strip()
    if not text:
        raise SaveRefusedError("type a path to save to")
    if not text.isprintable():
        raise SaveRefusedError(f"{shown(text)}: a path cannot hold control characters (NUL, line breaks)")
    expanded = os.path.expanduser(text)
    if expanded.startswith("~"):
        user = expanded[1:].split(os.sep, 1)[0]
        raise SaveRefusedError(f"{shown(text)}: there is no user named {user!r} on this machine")
    path = Path(cwd or os.getcwd()) / expanded
    if text.endswith(("/", os.sep)) or _is_dir(path):
        example = path.joinpath(f"name{suffix or '.md'}")
        raise SaveRefusedError(f"{shown(text)} is a folder: add a file name, e.g. {shown(str(example))}")
    if path.suffix.lower() in NEVER_WRITTEN:
        raise SaveRefusedError(f"{shown(text)}: a {path.suffix} file may be someone's code; never saved over")
    if suffix is not None and path.suffix != suffix:
        path = path.with_suffix(suffix)
    path = _real(path, text)
    if path.suffix.lower() in NEVER_WRITTEN:  # a link to someone's code
        raise SaveRefusedError(f"{shown(text)} leads to {shown(str(path))}, which is never saved over")
    for kept in protected:
        if _same_file(path, kept):
            raise SaveRefusedError(f"{shown(text)} is the open scenario's own file: it is never saved over")
    exists = _check_existing(path, text)
    folder = path.parent
    if not folder.is_dir():
        raise SaveRefusedError(f"{shown(text)}: there is no folder {shown(str(folder))}")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SaveRefusedError(f"{shown(text)}: this user may not write in {shown(str(folder))}")
    return SaveTarget(path, exists)


def download_name(typed: str, *, suffix: str | None = None) -> str:
    """The file name a browser is offered for a download, from what a guest typed; or
    ``SaveRefusedError``. Folders are dropped (the browser chooses where it goes); ``suffix`` replaces
    the name's own, or is added when it has none, as for ``save_target``."""
    text = typed.strip()
    if not text.isprintable():
        raise SaveRefusedError(
            f"{shown(text)}: a file name cannot hold control characters (NUL, line breaks)"
        )
    name = text.replace("\\", "/").rsplit("/", 1)[-1].strip()
    if name in ("", ".", ".."):
        raise SaveRefusedError("type a file name for your browser to save")
    path = Path(name)
    if suffix is not None and path.suffix != suffix:
        path = path.with_suffix(suffix)
    if len(os.fsencode(path.name)) > _NAME_MAX:
        raise SaveRefusedError(f"{shown(text[:40])}…: a file name of at most {_NAME_MAX} bytes, please")
    return path.name


def write_atomically(target: SaveTarget | str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8) to the target as a whole: a temporary file beside it, renamed over it.

    Keeps the permissions of the file it replaces (a new file gets the usual ``0o666 & ~umask``).
    Raises ``SaveRefusedError`` with the reason when the write fails; nothing is left behind then.
    """
    if guest.active():
        raise SaveRefusedError(guest.REFUSED)
    path = target.path if isinstance(target, SaveTarget) else Path(target)
    name = shown(str(path))
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mode = 0o666 & ~_umask()
    try:
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise SaveRefusedError(f"cannot write {name}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        with suppress(OSError):
            os.unlink(temporary)
        raise SaveRefusedError(f"cannot write {name}: {exc.strerror or exc}") from None
    return path


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except (OSError, ValueError):
        return False


def _real(path: Path, typed: str) -> Path:
    """The path with its folder's links resolved, and the file's own link followed (a save goes
    where the link points, and the link stays)."""
    try:
        return path.resolve()
    except RuntimeError:  # a symlink loop
        raise SaveRefusedError(f"{shown(typed)}: a symlink loop") from None
    except OSError as exc:
        raise SaveRefusedError(f"{shown(typed)}: {exc.strerror or exc}") from None


def _same_file(path: Path, other: str | os.PathLike[str]) -> bool:
    try:
        return path == Path(other).resolve() or (path.exists() and os.path.samefile(path, other))
    except (OSError, RuntimeError, ValueError):
        return False


def _check_existing(path: Path, typed: str) -> bool:
    """Whether a regular file is there; refuses anything else that is (a directory, a FIFO, ...)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise SaveRefusedError(f"{shown(typed)}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(mode):
        raise SaveRefusedError(f"{shown(typed)} is a folder: add a file name")
    for test, kind in _SPECIAL:
        if test(mode):
            raise SaveRefusedError(f"{shown(typed)} is {kind}, not a file: choose another name")
    return True


def _umask() -> int:
    """The process's umask, read without changing it (Linux); the common 0o022 elsewhere."""
    with suppress(OSError, ValueError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    return 0o022
