"""A real headless browser for the serve tests: Debian's chromium, driven over the DevTools protocol.

No browser driver to install: chromium listens on a DevTools port (``--remote-debugging-port=0``
writes it to ``DevToolsActivePort`` in its fresh profile) and aiohttp, which textual-serve brings
anyway, speaks the protocol's websocket. ``Browser`` opens one page and can navigate, evaluate
JavaScript, type a key and take a screenshot; what the page's websockets connect to is recorded
(``sockets``), so a test sees the terminal size the page asked the app for.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
]
"""What chromium needs here (no sandbox, no GPU, no calls home) and its DevTools port."""


def chromium() -> str | None:
    """The chromium executable, if this machine has one."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """One headless chromium with one page; ``async with Browser(width, height) as page``."""

    def __init__(self, width: int = 1280, height: int = 800) -> None:
        self.width, self.height = width, height
        self.sockets: list[str] = []
        """The URLs of the websockets the page opened."""
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}

    async def __aenter__(self) -> Browser:
        executable = chromium()
        if executable is None:
            raise RuntimeError("no chromium on this machine (apt-get install chromium)")
        self._profile = tempfile.TemporaryDirectory(prefix="backprop-chromium-")
        profile = Path(self._profile.name)
        self._process = subprocess.Popen(
            [executable, *FLAGS, f"--user-data-dir={profile}", f"--window-size={self.width},{self.height}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().count("\n") >= 1:
                break
            await asyncio.sleep(0.05)
        port = int(port_file.read_text().split("\n")[0])
        self._http = aiohttp.ClientSession()
        async with self._http.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json(content_type=None)
        page = next(t for t in targets if t.get("type") == "page")
        self._ws = await self._http.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
        self._reader = asyncio.create_task(self._read())
        await self.send("Page.enable")
        await self.send("Network.enable")
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._reader.cancel()
        with contextlib.suppress(Exception):
            await self._ws.close()
        await self._http.close()
        self._process.terminate()
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._profile.cleanup()

    async def _read(self) -> None:
        async for message in self._ws:
            data = json.loads(message.data)
            if "id" in data and data["id"] in self._pending:
                self._pending.pop(data["id"]).set_result(data)
            elif data.get("method") == "Network.webSocketCreated":
                self.sockets.append(data["params"]["url"])

    async def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """One DevTools command and its result (an error from the browser raises)."""
        number = next(self._ids)
        answer = asyncio.get_running_loop().create_future()
        self._pending[number] = answer
        await self._ws.send_str(json.dumps({"id": number, "method": method, "params": params or {}}))
        reply = await asyncio.wait_for(answer, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", {"url": url})

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result.get("result", {}).get("value")

    async def wait_for(self, expression: str, timeout: float = 60) -> Any:
        """Until ``expression`` is truthy in the page; its value."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await self.evaluate(expression)
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError(f"the page never had {expression}")
            await asyncio.sleep(0.1)

    async def screenshot(self) -> bytes:
        result = await self.send("Page.captureScreenshot", {"format": "png"})
        return base64.b64decode(result["data"])

    async def settled(self, timeout: float = 30) -> bytes:
        """A screenshot once two taken a moment apart are the same (the app has drawn its frame)."""
        deadline = asyncio.get_running_loop().time() + timeout
        last = await self.screenshot()
        while asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.5)
            now = await self.screenshot()
            if now == last:
                return now
            last = now
        return last

    async def press(self, key: str) -> None:
        """Type one printable key into the focused element."""
        for kind in ("keyDown", "keyUp"):
            params = {"type": kind, "key": key}
            if kind == "keyDown":
                params["text"] = key
            await self.send("Input.dispatchKeyEvent", params)
