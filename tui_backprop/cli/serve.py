"""``backprop-tui serve``: the app in a browser, through textual-serve (an optional extra).

textual-serve runs a web server; every browser connection that opens the page starts its own
``python -m tui_backprop ...`` process and streams its screen over a websocket. So each student
gets a private copy of the app (a lab), and nobody sees the lecturer's screen mirrored (README
"Serve it to a browser"). The server binds 127.0.0.1 unless ``--host`` says otherwise.
"""

from __future__ import annotations

import shlex
import sys

INSTALL_HINT = "backprop-tui serve needs textual-serve: pip install 'backprop-tui[serve]'"
PROJECTOR_FONT_SIZE = 24
"""The font size the printed URL asks for (textual-serve's default is 16): readable from the back row."""


def app_command(target: str | None, bug: str | None, dtype: str, quiz: bool) -> str:
    """The shell command textual-serve runs per connection: this Python, this package."""
    argv = [sys.executable, "-m", "tui_backprop"]
    if target:
        argv.append(target)
    if bug:
        argv += ["--bug", bug]
    if dtype != "float64":
        argv += ["--dtype", dtype]
    if quiz:
        argv.append("--quiz")
    return shlex.join(argv)


def url(host: str, port: int, font_size: int = PROJECTOR_FONT_SIZE) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?fontsize={font_size}"


def serve(
    target: str | None,
    host: str,
    port: int,
    bug: str | None = None,
    dtype: str = "float64",
    quiz: bool = False,
    public_url: str | None = None,
) -> int:
    """Serve until Ctrl+C. Returns 2 (with one line on stderr) when textual-serve is missing."""
    try:
        from textual_serve.server import Server
    except ImportError:
        print(f"backprop-tui: error: {INSTALL_HINT}", file=sys.stderr)
        return 2
    command = app_command(target, bug, dtype, quiz)
    base = public_url.rstrip("/") if public_url else None
    server = Server(command, host=host, port=port, title="backprop-tui", public_url=base)
    shown = f"{base}/?fontsize={PROJECTOR_FONT_SIZE}" if base else url(host, port)
    print(f"backprop-tui: serving {target or 'the scenario picker'} at {shown}", flush=True)
    print("  each browser connection gets its own copy of the app; Ctrl+C stops the server", flush=True)
    server.serve()
    return 0
