"""``backprop-tui serve``: the app in a browser, through textual-serve (an optional extra).

textual-serve runs a web server; every browser connection that opens the page starts its own
``python -m tui_backprop ... --guest`` process and streams its screen over a websocket. So each
student gets a private copy of the app (a lab), and nobody sees the lecturer's screen mirrored.
Each copy is a guest's (``core/guest.py``): it opens only what was served and the built-ins, and
writes nothing on the server. ``guest_server.py`` caps the connections and ends every app process
with its socket. The server binds 127.0.0.1 unless ``--host`` says otherwise (README "Serve it to
a browser").
"""

from __future__ import annotations

import socket
import sys
from contextlib import suppress

from tui_backprop.core.guest import GUEST_FLAG

INSTALL_HINT = "backprop-tui serve needs textual-serve: pip install 'backprop-tui[serve]'"
FONT_SIZE = 18
"""The font size the printed URL asks for, and the page's when it asks for none: as large as lets
the sigmoid chain's whole circuit (118 columns) fit a 1280x800 browser window (128 columns there);
a larger one (``?fontsize=24``) for a small room, a smaller one for a big graph."""
EVERY_INTERFACE = ("0.0.0.0", "::")


class ServeError(Exception):
    """An address ``serve`` cannot listen on: the one line to print (exit 2)."""


def app_argv(
    target: str | None, bug: str | None, dtype: str | None, quiz: bool, mystery: bool = False
) -> list[str]:
    """The program textual-serve starts per connection: this Python, this package, as a guest
    (``dtype`` None: the default, or a served lesson's own)."""
    argv = [sys.executable, "-m", "tui_backprop"]
    if target:
        argv.append(target)
    argv.append(GUEST_FLAG)
    if bug:
        argv += ["--bug", bug]
    if dtype:
        argv += ["--dtype", dtype]
    if quiz:
        argv.append("--quiz")
    if mystery:
        argv.append("--mystery")
    return argv


def url(host: str, port: int, font_size: int = FONT_SIZE) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/?fontsize={font_size}"


def check_address(host: str, port: int) -> None:
    """Refuse, before anything starts, an address that names no interface of this machine or a
    port already taken (bound and released here the way the server binds it)."""
    if not host.strip():
        raise ServeError(
            "--host: an empty address would listen on every interface; "
            "say --host 0.0.0.0 to serve a room, or leave --host out for this machine only"
        )
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ServeError(f"--host {host!r}: not an address of this machine ({reason})") from None
    for family, kind, proto, _, address in found:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise ServeError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None


def machine_addresses() -> list[str]:
    """This machine's IPv4 addresses, loopback last: where a browser in the room can reach it."""
    found: list[str] = []
    with suppress(OSError, ImportError, AttributeError):
        import fcntl
        import struct

        for _, name in socket.if_nameindex():
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe, suppress(OSError):
                raw = fcntl.ioctl(
                    probe.fileno(), 0x8915, struct.pack("256s", name.encode()[:15])
                )  # SIOCGIFADDR
                found.append(socket.inet_ntoa(raw[20:24]))
    if not found:
        with suppress(OSError):
            found = [info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)]
    unique = list(dict.fromkeys(found))
    return [a for a in unique if not a.startswith("127.")] + [a for a in unique if a.startswith("127.")]


def urls(host: str, port: int, public_url: str | None) -> list[str]:
    """The URLs to print: the public one, every address of the machine for 0.0.0.0, else the host's."""
    if public_url:
        return [f"{public_url}/?fontsize={FONT_SIZE}"]
    if host in EVERY_INTERFACE:
        return [url(address, port) for address in machine_addresses()] or [url("127.0.0.1", port)]
    return [url(host, port)]


def serve(
    target: str | None,
    host: str,
    port: int,
    bug: str | None = None,
    dtype: str | None = None,
    quiz: bool = False,
    public_url: str | None = None,
    max_clients: int = 30,
    mystery: bool = False,
) -> int:
    """Serve until Ctrl+C. Returns 2 with one line on stderr when textual-serve is missing or the
    address cannot be used (empty, unknown, in use)."""
    try:
        from tui_backprop.cli.guest_server import GuestServer
    except ImportError:
        print(f"backprop-tui: error: {INSTALL_HINT}", file=sys.stderr)
        return 2
    base = public_url.rstrip("/") if public_url else None
    try:
        check_address(host, port)
    except ServeError as exc:
        print(f"backprop-tui serve: error: {exc}", file=sys.stderr)
        return 2
    server = GuestServer(
        app_argv(target, bug, dtype, quiz, mystery),
        host,
        port,
        public_url=base,
        max_clients=max_clients,
        starting=target or "the scenario picker",
        font_size=FONT_SIZE,
    )
    shown = urls(host, port, base)
    print(f"backprop-tui: serving {target or 'the scenario picker'} at {shown[0]}", flush=True)
    for other in shown[1:]:
        print(f"  also at {other}", flush=True)
    print(
        f"  each browser gets its own copy of the app (at most {max_clients} at once); "
        "Ctrl+C stops the server",
        flush=True,
    )
    try:
        server.serve()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        print(f"backprop-tui serve: error: cannot listen on {host} port {port}: {reason}", file=sys.stderr)
        return 2
    return 0
