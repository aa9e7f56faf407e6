"""``backprop-tui serve`` for real: a server on a free loopback port, the page over HTTP, the app's
first screen over its websocket; nothing listens beyond loopback; a clear line without the extra."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from serve_support import free_port, plain

ROOT = Path(__file__).resolve().parent.parent


def listening_addresses(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp* writes them) of sockets listening on ``port``."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            address, state = fields[1], fields[3]
            if state == "0A" and int(address.rsplit(":", 1)[1], 16) == port:
                found.append(address.rsplit(":", 1)[0])
    return found


async def first_screen(port: int) -> str:
    """Fetch the page, open its websocket and collect what the app draws until its title shows."""
    async with aiohttp.ClientSession() as http:
        page = ""
        for _ in range(150):  # the server is starting: retry until it answers
            try:
                async with http.get(f"http://127.0.0.1:{port}/?fontsize=24") as response:
                    assert response.status == 200
                    page = await response.text()
                    break
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        assert f"ws://127.0.0.1:{port}/ws" in page and "font-size" in page.lower().replace("_", "-")
        seen = ""
        async with http.ws_connect(f"ws://127.0.0.1:{port}/ws?width=100&height=30") as ws:
            async for message in ws:
                if message.type == aiohttp.WSMsgType.BINARY:
                    seen += message.data.decode("utf-8", "replace")
                elif message.type == aiohttp.WSMsgType.TEXT:
                    seen += message.data
                if "sigmoid-chain forward 1/12" in plain(seen):
                    break
        return plain(seen)


def test_serve_streams_the_app_to_a_websocket_on_loopback_only():
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "tui_backprop", "serve", "sigmoid-chain", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )
    try:
        banner = server.stdout.readline() if server.stdout else ""
        assert f"http://127.0.0.1:{port}/?fontsize=18" in banner
        seen = asyncio.run(asyncio.wait_for(first_screen(port), timeout=60))
        assert "sigmoid-chain forward 1/12" in seen  # the app's status line, from its own process
        addresses = listening_addresses(port)
        assert addresses and all(a in ("0100007F", "00000000000000000000000001000000") for a in addresses)
    finally:
        os.killpg(server.pid, signal.SIGINT)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    deadline = time.monotonic() + 10
    while listening_addresses(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not listening_addresses(port)


def test_without_textual_serve_one_line_says_what_to_install():
    code = (
        "import sys\n"
        "sys.modules['textual_serve'] = None\n"
        "from tui_backprop.cli.main import main\n"
        "code = main(['serve', 'sigmoid-chain'])\n"
        "assert 'textual' not in sys.modules, 'textual was imported'\n"
        "sys.exit(code)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip() == (
        "backprop-tui: error: backprop-tui serve needs textual-serve: pip install 'backprop-tui[serve]'"
    )
