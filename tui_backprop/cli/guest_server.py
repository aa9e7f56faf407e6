"""textual-serve's ``Server``, made fit to serve a room: a cap on connections, clamped terminal sizes,
and no app process outliving its browser.

textual-serve starts one app process per websocket (``AppService``) and, when the socket closes,
asks the app to quit and waits for it: an app that never answers (busy drawing a 5000x5000
terminal, stuck in a scenario) is waited for for ever, and its process stays. Here each app
process is started as a program (no shell) in a session of its own, and ends when its socket
closes: asked to quit, then after ``QUIT_GRACE`` seconds terminated, then killed, and reaped; the
same when the server stops. ``max_clients`` app processes at most run at once; a browser beyond
that gets a page (or, on the socket, a line) saying the server is full. Sizes a browser asks for,
in the URL or later, are clamped to ``MIN_SIZE``..``MAX_SIZE``; a malformed message ends that
browser's connection, not the server. The page tells the browser to connect back to the address it
reached the server at, so ``--host 0.0.0.0`` works without ``--public-url``.

Subclassed rather than patched: every override below replaces one method of textual-serve 1.1's
``Server`` or ``AppService`` and keeps its contract (README "Serve it to a browser").
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import os
import shlex
import signal
import sys
from pathlib import Path
from typing import Any

import aiohttp_jinja2
from aiohttp import WSMsgType, web
from textual_serve.app_service import AppService
from textual_serve.server import Server, to_int

log = logging.getLogger("backprop-tui.serve")

TEMPLATES = Path(__file__).resolve().parent / "templates"
"""Our page (``app_index.html``): a "starting" screen the app's first frame replaces."""
MIN_FONT, MAX_FONT = 6, 72
DEFAULT_MAX_CLIENTS = 30
"""Each browser costs an app process of about 60 MB: 30 is a class on a small server."""
MIN_SIZE = (20, 5)
MAX_SIZE = (500, 200)
"""Terminal sizes (columns, rows) a browser may ask for; beyond, the app would draw for nobody."""
QUIT_GRACE = 3.0
"""Seconds an app has to quit by itself once its socket closed, before it is terminated."""
TERM_GRACE = 2.0
"""Seconds between terminating an app process and killing it."""


def clamp_font(size: int) -> int:
    """A font size the page can use (a typo'd ``?fontsize=2400`` gets the largest)."""
    return max(MIN_FONT, min(MAX_FONT, size))


def clamp_size(width: object, height: object) -> tuple[int, int]:
    """A terminal size from whatever a browser sent: whole numbers within ``MIN_SIZE``..``MAX_SIZE``."""
    size = []
    for value, low, high, default in zip((width, height), MIN_SIZE, MAX_SIZE, (80, 24), strict=True):
        number = value if isinstance(value, int) and not isinstance(value, bool) else default
        size.append(min(max(number, low), high))
    return size[0], size[1]


class GuestAppService(AppService):
    """One browser's app process: started without a shell in its own session, sized within
    bounds, and ended (quit, terminate, kill) when the browser goes."""

    def __init__(self, argv: list[str], **kwargs: Any) -> None:
        super().__init__(shlex.join(argv), **kwargs)
        self.argv = argv

    async def _open_app_process(self, width: int = 80, height: int = 24) -> asyncio.subprocess.Process:
        width, height = clamp_size(width, height)
        self._process = process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=self._build_environment(width=width, height=height),
            start_new_session=True,  # its own process group: whatever it starts ends with it
        )
        assert process.stdin is not None
        self._stdin = process.stdin
        return process

    async def set_terminal_size(self, width: int, height: int) -> None:
        await super().set_terminal_size(*clamp_size(width, height))

    async def stop(self) -> None:
        """Ask the app to quit; end its process whatever it answers."""
        try:
            await asyncio.wait_for(super().stop(), QUIT_GRACE)
        except (TimeoutError, ConnectionError, RuntimeError):
            pass
        finally:
            await self.end_process()

    async def end_process(self) -> None:
        """Terminate, then kill, the app's process group if it is still there, and reap it."""
        process = self._process
        if process is None or process.returncode is not None:
            return
        for sig, grace in ((signal.SIGTERM, TERM_GRACE), (signal.SIGKILL, None)):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, sig)
            try:
                await asyncio.wait_for(process.wait(), grace)
                return
            except TimeoutError:
                continue

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None


class GuestServer(Server):
    """textual-serve's server with a cap on app processes and no process outliving its socket."""

    def __init__(
        self,
        argv: list[str],
        host: str,
        port: int,
        *,
        title: str = "backprop-tui",
        public_url: str | None = None,
        max_clients: int = DEFAULT_MAX_CLIENTS,
        starting: str = "the scenario picker",
        font_size: int,
    ) -> None:
        command = shlex.join(argv)
        super().__init__(
            command, host=host, port=port, title=title, public_url=public_url, templates_path=TEMPLATES
        )
        self.starting = starting
        """What the page says it is starting until the app's first frame replaces it."""
        self.font_size = font_size
        """The page's font size when the URL names none."""
        self.argv = argv
        self.fixed_public_url = public_url
        self.max_clients = max_clients
        self.clients: set[GuestAppService] = set()

    # ------------------------------------------------------------ logging and start-up
    def initialize_logging(self) -> None:
        """One plain line per event on stderr; no banner, no tracebacks with local variables."""
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("backprop-tui serve: %(message)s"))
        for name in ("textual-serve", "backprop-tui.serve"):
            logger = logging.getLogger(name)
            logger.handlers[:] = [handler]
            logger.setLevel(logging.DEBUG if self.debug else logging.WARNING)
            logger.propagate = False

    async def on_startup(self, app: web.Application) -> None:
        """Quiet: the command has printed where to connect already."""

    async def on_shutdown(self, app: web.Application) -> None:
        """The server stops: every app process ends with it, and every browser is told."""
        clients = list(self.clients)
        await asyncio.gather(*(client.end_process() for client in clients))
        for client in clients:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await client.remote_close()

    def serve(self, debug: bool = False) -> None:
        """Serve until SIGINT or SIGTERM. Raises ``OSError`` when the address cannot be bound."""
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGINT, self.request_exit)
            loop.add_signal_handler(signal.SIGTERM, self.request_exit)
        web.run_app(
            self._make_app(),
            host=self.host,
            port=self.port,
            handle_signals=False,
            loop=loop,
            print=lambda *args: None,
            shutdown_timeout=TERM_GRACE,
        )

    # ------------------------------------------------------------ the page
    @property
    def full(self) -> bool:
        return len(self.clients) >= self.max_clients

    def full_message(self) -> str:
        return (
            f"This backprop-tui server is full: {self.max_clients} browsers are connected, "
            "as many as it serves at once. Try again in a minute, or ask the lecturer."
        )

    async def handle_index(self, request: web.Request) -> web.StreamResponse:
        """The app's page; a short page saying so when the server is full (503)."""
        if self.full:
            text = html.escape(self.full_message())
            body = f"<!doctype html><title>backprop-tui: server full</title><p>{text}</p>"
            return web.Response(status=503, text=body, content_type="text/html")
        base = self.fixed_public_url or f"{request.scheme}://{request.host}"
        socket_scheme = "wss" if base.startswith("https") else "ws"
        router = request.app.router
        context = {
            "font_size": clamp_font(to_int(request.query.get("fontsize", ""), self.font_size)),
            "starting": self.starting,
            "app_websocket_url": f"{socket_scheme}:{base.split(':', 1)[1]}{router['websocket'].url_for()}",
            "config": {
                "static": {"url": f"{base}{router['static'].url_for(filename='/')}".rstrip("/") + "/"}
            },
            "application": {"name": self.title},
        }
        return aiohttp_jinja2.render_template("app_index.html", request, context)

    # ------------------------------------------------------------ the app's socket
    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """One browser's app: refused when full, sized within bounds, ended when the socket closes."""
        websocket = web.WebSocketResponse(heartbeat=15)
        await websocket.prepare(request)
        if self.full:
            with contextlib.suppress(ConnectionError, RuntimeError):
                await websocket.send_bytes(f"\r\n  {self.full_message()}\r\n".encode())
            await websocket.close()
            return websocket
        width, height = clamp_size(
            to_int(request.query.get("width", "80"), 80), to_int(request.query.get("height", "24"), 24)
        )
        service = GuestAppService(
            self.argv,
            write_bytes=websocket.send_bytes,
            write_str=websocket.send_str,
            close=websocket.close,
            download_manager=self.download_manager,
            debug=self.debug,
        )
        self.clients.add(service)
        try:
            await service.start(width, height)
            await self._process_messages(websocket, service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception as error:  # one browser's trouble, logged in one line; the server goes on
            log.warning("a connection ended: %s: %s", type(error).__name__, error)
        finally:
            try:
                await service.stop()
            finally:
                self.clients.discard(service)
        return websocket

    async def _process_messages(self, websocket: web.WebSocketResponse, app_service: AppService) -> None:
        """textual-serve's messages from the browser, read defensively: anything malformed ends
        this connection (and so its app), never the server."""
        async for message in websocket:
            if message.type != WSMsgType.TEXT:
                continue
            envelope = json.loads(message.data)
            if not isinstance(envelope, list) or not envelope:
                raise ValueError("a message that is not a list")
            kind, data = envelope[0], envelope[1] if len(envelope) > 1 else None
            if kind == "stdin" and isinstance(data, str):
                await app_service.send_bytes(data.encode("utf-8", "replace"))
            elif kind == "resize" and isinstance(data, dict):
                await app_service.set_terminal_size(data.get("width"), data.get("height"))  # type: ignore[arg-type]
            elif kind == "ping":
                await websocket.send_json(["pong", data])
            elif kind == "blur":
                await app_service.blur()
            elif kind == "focus":
                await app_service.focus()
