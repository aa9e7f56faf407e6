"""Ending the app for real, in a pseudo-terminal: SIGTERM restores the terminal and exits 143, and
``q`` ends the process even while the author's build or the check is stuck and never returns.

The time limits below only keep a hang from hanging the suite; nothing asserts how fast it was.
"""

from __future__ import annotations

import fcntl
import os
import pty
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

FILES = Path(__file__).parent / "scenario_files"
HANG_GUARD = 60.0

ALT_SCREEN_OFF = b"\x1b[?1049l"
CURSOR_SHOWN = b"\x1b[?25h"
MOUSE_OFF = b"\x1b[?1000l"


class Terminal:
    """The app on the slave side of a pty; everything it writes collected from the master side."""

    def __init__(self, *args: str, cols: int = 100, rows: int = 30) -> None:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        env = {**os.environ, "TERM": "xterm-256color", "COLORTERM": "truecolor"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tui_backprop", *args],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            start_new_session=True,
        )
        os.close(slave)
        self.master = master
        self.output = bytearray()

    def read_until(self, needle: bytes) -> bool:
        """Collect output until ``needle`` shows up (True) or the app closes the terminal (False)."""
        deadline = time.monotonic() + HANG_GUARD
        while needle not in self.output:
            ready, _, _ = select.select([self.master], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                return False
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # EIO: every writer closed the terminal
                return needle in self.output
            if not chunk:
                break
            self.output += chunk
        return True

    def finish(self) -> int:
        """Read to the end and return the exit status (killing it if it hangs past the guard)."""
        self.read_until(b"\x00never\x00")
        try:
            return self.proc.wait(timeout=HANG_GUARD)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"the app did not exit; last output: {bytes(self.output[-300:])!r}")
        finally:
            os.close(self.master)

    def type(self, keys: bytes) -> None:
        os.write(self.master, keys)


@pytest.fixture
def terminal():
    started: list[Terminal] = []

    def start(*args: str) -> Terminal:
        started.append(Terminal(*args))
        return started[-1]

    yield start
    for t in started:
        if t.proc.poll() is None:
            t.proc.kill()
            t.proc.wait()


def test_sigterm_restores_the_terminal_and_exits_143(terminal):
    app = terminal("sigmoid-chain")
    assert app.read_until(b"Quit"), bytes(app.output[-300:])
    assert app.read_until(b"so far")  # loaded and checked: the app is fully up (no spoilers yet)
    before = len(app.output)
    app.proc.send_signal(signal.SIGTERM)
    assert app.finish() == 128 + signal.SIGTERM
    ending = bytes(app.output[before:])
    for sequence in (ALT_SCREEN_OFF, CURSOR_SHOWN, MOUSE_OFF):
        assert sequence in ending, (sequence, ending[-300:])


@pytest.mark.parametrize(
    ("name", "stuck_at"),
    [("stuck_in_build.py", b"loading"), ("stuck_in_check.py", b"1/3")],
    ids=["build", "check"],
)
def test_q_ends_the_process_while_user_code_never_returns(terminal, name, stuck_at):
    app = terminal(str(FILES / name))
    assert app.read_until(b"Quit")
    assert app.read_until(stuck_at), bytes(app.output[-300:])
    app.type(b"q")
    assert app.finish() == 0
    assert ALT_SCREEN_OFF in app.output
