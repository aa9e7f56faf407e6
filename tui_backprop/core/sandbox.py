"""Keeping a scenario's own code from taking the process over: its output, its exits, Ctrl-C, its file.

Scenario code runs inside our process (at import, in ``build``, in every forward and backward). It may
print, read stdin, replace ``sys.stdout``, call ``sys.exit`` or raise ``KeyboardInterrupt``; its file
may be a FIFO or a binary. The headless commands promise (README, "Command line") that their stdout
carries only their own table or JSON and that the exit code is 0, 1, 2 or 130 for a real Ctrl-C, so:

- ``own_stdio`` keeps the real stdout and stderr for our output and sends everything else (Python
  and file-descriptor level) to stderr, with stdin empty;
- ``sigint_marked`` tells a real Ctrl-C from a ``KeyboardInterrupt`` raised by the author's code;
- ``is_user_fault`` says which exceptions are the author's to be reported, not obeyed;
- ``scenario_source`` refuses, at once and in one line, a path that is not a readable ``.py`` text file.

No numpy here: the app's start-up checks its argument with this module before anything heavy loads.
"""

from __future__ import annotations

import errno
import io
import os
import signal
import stat
import sys
import threading
import tokenize
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

EXIT_INTERRUPTED = 130
"""128 + SIGINT, what shells report for a program ended by Ctrl-C."""
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: the reader of our output went away (``| head``) before we were done."""

MAX_SOURCE_BYTES = 16 << 20
"""A scenario file larger than this is not hand-written Python: refuse it instead of reading it."""

_real_interrupt = threading.Event()
_interrupt_reported = threading.Event()


def is_user_fault(exc: BaseException) -> bool:
    """True for anything the author's code raised, ``SystemExit`` and ``KeyboardInterrupt`` included.

    Only a ``KeyboardInterrupt`` that a real Ctrl-C caused (see ``sigint_marked``) is not a fault of
    the scenario: that one must end the command with exit 130.
    """
    return not (isinstance(exc, KeyboardInterrupt) and _real_interrupt.is_set())


def real_interrupt() -> bool:
    """Whether the user pressed Ctrl-C during the current command."""
    return _real_interrupt.is_set()


def report_interrupt(stream: TextIO, message: str = "backprop-tui: interrupted") -> None:
    """Say once that Ctrl-C ended the command (a second press then exits without saying it again)."""
    _interrupt_reported.set()
    with suppress(OSError, ValueError):
        print(message, file=stream, flush=True)


@contextmanager
def sigint_marked(message: str = "backprop-tui: interrupted") -> Iterator[None]:
    """Mark the ``KeyboardInterrupt`` of a real Ctrl-C, so it is not mistaken for the author's own.

    A scenario that swallows the interrupt (``except KeyboardInterrupt: pass`` in a loop) cannot keep
    us running: a second Ctrl-C writes ``message`` and ends the process with 130 at once.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _real_interrupt.clear()
    _interrupt_reported.clear()

    def on_sigint(signum: int, frame: object) -> None:
        if _real_interrupt.is_set():
            if not _interrupt_reported.is_set():
                with suppress(OSError):
                    os.write(2, (message + "\n").encode())
            real_exit(EXIT_INTERRUPTED)
        _real_interrupt.set()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous if previous is not None else signal.default_int_handler)


class _ToStderr(io.TextIOBase):
    """What ``sys.stdout`` is while the author's code may run: writes go to stderr; closing it is a no-op
    (``exit()`` and stray ``sys.stdout.close()`` calls must not close our streams)."""

    def __init__(self, target: TextIO) -> None:
        self._target = target

    def write(self, text: str) -> int:
        return self._target.write(text)

    def flush(self) -> None:
        self._target.flush()

    def close(self) -> None:
        self.flush()

    @property
    def closed(self) -> bool:
        return False

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._target, "encoding", None) or "utf-8"

    @property
    def errors(self) -> str:  # type: ignore[override]
        return getattr(self._target, "errors", None) or "strict"

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._target.fileno()

    def __getattr__(self, name: str) -> object:  # .buffer, .name, .line_buffering, ...
        return getattr(self._target, name)


@dataclass(frozen=True)
class Stdio:
    """The streams our own output goes to, whatever the author's code does to ``sys.stdout``."""

    out: TextIO
    err: TextIO


def _fd_of(stream: object) -> int | None:
    try:
        return stream.fileno()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        return None


@contextmanager
def own_stdio() -> Iterator[Stdio]:
    """Keep the real stdout and stderr for our output; inside, the author's output goes to stderr.

    When ``sys.stdout`` is the process's own file descriptor 1 (a real run, not a test capturing
    output), it is redirected at the descriptor level too: ``os.write(1, ...)``, ``os.system("echo")``
    and C extensions cannot reach the real stdout either, and stdin reads as empty (``/dev/null``).
    Our stdout stream replaces characters its encoding lacks instead of failing on them.
    """
    saved = sys.stdout, sys.stderr, sys.stdin
    fd_level = (
        sys.stdout is not None
        and sys.stdout is sys.__stdout__
        and _fd_of(sys.stdout) == 1
        and _fd_of(sys.stderr) == 2
    )
    restore_fds: list[tuple[int, int]] = []
    opened: list[TextIO] = []
    if fd_level:
        _reopen_closed_standard_fds()  # else os.dup() below could hand out fd 0, 1 or 2 itself
        with suppress(OSError, ValueError):
            sys.stdout.flush()
            sys.stderr.flush()
        out_fd, err_fd = os.dup(1), os.dup(2)
        out = open(  # noqa: SIM115 - closed in the finally below
            out_fd, "w", encoding=saved[0].encoding, errors="replace", closefd=True
        )
        err = open(  # noqa: SIM115
            err_fd, "w", encoding=saved[1].encoding, errors="backslashreplace", buffering=1
        )
        opened += [out, err]
        os.dup2(2, 1)
        restore_fds.append((out_fd, 1))
        with suppress(OSError):
            in_fd = os.dup(0)
            null = os.open(os.devnull, os.O_RDONLY)
            os.dup2(null, 0)
            os.close(null)
            restore_fds.append((in_fd, 0))
    else:
        out = saved[0] if saved[0] is not None else open(os.devnull, "w")  # noqa: SIM115
        err = saved[1] if saved[1] is not None else open(os.devnull, "w")  # noqa: SIM115
    sys.stdout = _ToStderr(err)
    sys.stdin = io.StringIO("")
    try:
        yield Stdio(out, err)
    finally:
        for stream in (out, err):
            with suppress(OSError, ValueError):
                stream.flush()
        sys.stdout, sys.stderr, sys.stdin = saved
        for saved_fd, fd in restore_fds:
            with suppress(OSError):
                os.dup2(saved_fd, fd)
            if fd == 0:
                with suppress(OSError):
                    os.close(saved_fd)
        for stream in opened:
            with suppress(OSError, ValueError):
                stream.close()


class ExitCalled(SystemExit):
    """The scenario called ``os._exit`` or an ``os.exec*`` function: refused, reported on its line."""


_EXIT_FUNCTIONS = ("_exit", "execv", "execve", "execl", "execle", "execlp", "execlpe", "execvp", "execvpe")
real_exit = os._exit
"""``os._exit`` as it was on import: what we end the process with ourselves."""


@contextmanager
def exits_refused() -> Iterator[None]:
    """While inside, ``os._exit(0)`` or ``os.execv(...)`` from the scenario raises ``ExitCalled``
    instead of ending (or replacing) the process with an exit code a grader would read as a verdict.

    A forked child (``multiprocessing``) still leaves through the real ``os._exit``.
    """
    pid = os.getpid()
    saved = {name: getattr(os, name) for name in _EXIT_FUNCTIONS if hasattr(os, name)}

    def refuse(name: str) -> object:
        original = saved[name]

        def refused(*args: object) -> None:
            if os.getpid() != pid:
                original(*args)  # type: ignore[operator]
            shown_args = ", ".join(printable(repr(a))[:40] for a in args)
            raise ExitCalled(f"os.{name}({shown_args}) would end the process; a scenario must return")

        return refused

    for name in saved:
        setattr(os, name, refuse(name))
    try:
        yield
    finally:
        for name, original in saved.items():
            setattr(os, name, original)


def _reopen_closed_standard_fds() -> None:
    """Point a closed stdin, stdout or stderr (``<&-``) at /dev/null."""
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)


def silence(stream: TextIO) -> None:
    """After a broken pipe: point the stream's descriptor at /dev/null so no later flush complains."""
    fd = _fd_of(stream)
    if fd is not None:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, fd)
        os.close(null)


# ---------------------------------------------------------------- the scenario file
class ScenarioFileError(Exception):
    """A path that cannot be a scenario file, with the one line that says why."""


def shown(path: str, limit: int = 160) -> str:
    """A path as one printable line of bounded length (an over-long or odd name must not flood)."""
    text = printable(path)
    if len(text) > limit:
        text = f"{text[: limit // 2 - 1]}…{text[-(limit // 2) :]}"
    return text


def printable(text: str) -> str:
    """``text`` with control characters written as escapes: one line, no terminal sequences."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)
_REASONS = {
    errno.ELOOP: "a symlink loop",
    errno.ENAMETOOLONG: "the name is too long for the file system",
    errno.EACCES: "permission denied",
    errno.ENOTDIR: "a part of the path is not a directory",
}


def scenario_source(spec: str) -> tuple[Path, str]:
    """The scenario file ``spec`` names, and its text, or ``ScenarioFileError`` with one line why not.

    Refused at once, before anything could block or mislead: a missing path, a symlink loop, a name
    too long, a directory, a FIFO or other special file, a file without ``.py``, an unreadable,
    oversized, binary or undecodable one.
    """
    return source_file(spec, ".py", "scenario file")


def source_file(spec: str, suffix: str, what: str) -> tuple[Path, str]:
    """``scenario_source`` for any text file the user names (a lesson ``.toml`` too)."""
    name = shown(spec)
    try:
        path = Path(spec).expanduser()
        _refuse_kind(os.stat(path).st_mode, name)  # before opening: a socket cannot be opened at all
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO swapped in meanwhile must not block
    except FileNotFoundError:
        raise ScenarioFileError(f"no such {what}: {name}") from None
    except OSError as exc:
        reason = _REASONS.get(exc.errno or 0) or exc.strerror or type(exc).__name__
        raise ScenarioFileError(f"cannot open {what} {name}: {reason}") from None
    except (ValueError, RuntimeError) as exc:  # an embedded NUL byte; an unknown ~user
        raise ScenarioFileError(f"not a usable path: {name} ({exc})") from None
    except ScenarioFileError:
        raise
    try:
        info = os.fstat(fd)
        _refuse_kind(info.st_mode, name)
        if path.suffix != suffix:
            raise ScenarioFileError(f"not a {what}: {name} is not a {suffix} file")
        if info.st_size > MAX_SOURCE_BYTES:
            raise ScenarioFileError(f"{name} is {info.st_size} bytes: too large to be a {what}")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            data = handle.read(MAX_SOURCE_BYTES + 1)
    except OSError as exc:
        raise ScenarioFileError(f"cannot read {what} {name}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    return path.resolve(), _decoded(data, name)


def _refuse_kind(mode: int, name: str) -> None:
    if stat.S_ISDIR(mode):
        raise ScenarioFileError(f"{name} is a directory, not a file")
    for test, kind in _KINDS:
        if test(mode):
            raise ScenarioFileError(f"{name} is {kind}, not a regular file")


def _decoded(data: bytes, name: str) -> str:
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        raise ScenarioFileError(f"{name}:{line}: a binary file (NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as exc:
        raise ScenarioFileError(f"{name}: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ScenarioFileError(
            f"{name}:{line}: not {encoding} text (byte {data[exc.start]:#04x}); save the file as UTF-8"
        ) from None
