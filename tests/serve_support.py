"""What the serve tests share: a free loopback port, and the text an app drew without its escapes."""

from __future__ import annotations

import re
import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def plain(terminal_output: str) -> str:
    """The text the app drew, without its escape sequences (colours, cursor moves)."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", terminal_output)
