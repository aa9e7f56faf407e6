"""``serve`` to a room, on loopback: a cap on connections, sizes clamped, no app process outliving its
socket or the server, addresses refused in one line, and every app process a guest's, which opens
only what was served and writes nothing on the server (README "Serve it to a browser").

Every server here listens on 127.0.0.1 and every connection is made to it. App processes are
found as the server's children (``/proc``), so a zombie left unreaped counts as a leak too.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest
from serve_support import free_port, plain

from tui_backprop.cli.guest_server import MAX_SIZE, MIN_SIZE, GuestAppService, clamp_size
from tui_backprop.cli.main import main
from tui_backprop.cli.serve import machine_addresses, urls
from tui_backprop.core import scenarios

SAVE_LESSON, HANDOUT = "\x13", "M"  # ctrl+s, and M, as a terminal sends them


# ---------------------------------------------------------------- helpers
def children(pid: int) -> list[int]:
    """Processes whose parent is ``pid``, zombies included."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def environment(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    return dict(item.decode().split("=", 1) for item in raw.split(b"\0") if b"=" in item)


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


class Served:
    """A ``serve`` process on a free loopback port, started in ``folder``."""

    def __init__(self, folder: Path, *argv: str) -> None:
        self.port = free_port()
        self.folder = folder
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tui_backprop", "serve", *argv, "--port", str(self.port)],
            cwd=folder,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
        self.banner = self.process.stdout.readline() if self.process.stdout else ""
        wait_until(self.listening, 60, "the server to listen")
        self.url = f"http://127.0.0.1:{self.port}"
        self.socket_url = f"ws://127.0.0.1:{self.port}/ws"

    def listening(self) -> bool:
        assert self.process.poll() is None, self.process.stdout.read() if self.process.stdout else ""
        with socket.socket() as probe:
            return probe.connect_ex(("127.0.0.1", self.port)) == 0

    def apps(self) -> list[int]:
        return children(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


@pytest.fixture
def serving(tmp_path) -> Iterator[callable]:
    started: list[Served] = []

    def start(*argv: str) -> Served:
        served = Served(tmp_path, *argv)
        started.append(served)
        return served

    yield start
    for served in started:
        leftover = served.apps()
        served.stop()
        for pid in leftover:  # a failed test must not leave app processes behind either
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)


async def read_until(
    ws: aiohttp.ClientWebSocketResponse, wanted: str, seen: list[str], timeout: float
) -> str:
    """Collect what the app draws until ``wanted`` shows (or the socket closes)."""

    async def collect() -> str:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.BINARY:
                seen.append(message.data.decode("utf-8", "replace"))
            if wanted in plain("".join(seen)):
                break
        return plain("".join(seen))

    return await asyncio.wait_for(collect(), timeout)


async def settled(ws, quiet: float = 1.0, timeout: float = 60) -> None:
    """Wait until the app has drawn nothing for ``quiet`` seconds (its queue is empty)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            await ws.receive(timeout=quiet)
        except TimeoutError:
            return
    raise AssertionError("the app never stopped drawing")


async def opened(http: aiohttp.ClientSession, served: Served):
    """A browser's socket to ``served`` (sigmoid-chain), once the app's first screen is drawn."""
    ws = await http.ws_connect(f"{served.socket_url}?width=80&height=24")
    await read_until(ws, "sigmoid-chain forward 1/12", [], 60)
    return ws


async def keys(ws: aiohttp.ClientWebSocketResponse, text: str) -> None:
    await ws.send_str(json.dumps(["stdin", text]))


# ---------------------------------------------------------------- addresses, refused in one line
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--host", ""], "--host: an empty address would listen on every interface"),
        (["--host", "   "], "--host: an empty address"),
        (["--host", "no-such-host.invalid"], "--host 'no-such-host.invalid': not an address of this machine"),
    ],
)
def test_an_empty_or_unknown_host_is_refused_in_one_line(capsys, argv, message):
    assert main(["serve", "sigmoid-chain", *argv]) == 2
    out, err = capsys.readouterr()
    assert out == "" and len(err.strip().splitlines()) == 1 and message in err


def test_a_port_in_use_is_one_line_and_exit_2(capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "sigmoid-chain", "--port", str(port)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert (
        err.strip()
        == f"backprop-tui serve: error: cannot listen on 127.0.0.1 port {port}: Address already in use"
    )


def test_every_interface_is_printed_as_the_machines_own_addresses():
    shown = urls("0.0.0.0", 8000, None)
    assert shown and not any("0.0.0.0" in u for u in shown)
    assert "http://127.0.0.1:8000/?fontsize=18" in shown
    assert shown == [f"http://{a}:8000/?fontsize=18" for a in machine_addresses()]
    assert urls("0.0.0.0", 8000, "https://class.example") == ["https://class.example/?fontsize=18"]


# ---------------------------------------------------------------- sizes
def test_sizes_are_clamped_whatever_the_browser_sends():
    assert clamp_size(5000, 5000) == MAX_SIZE
    assert clamp_size(-7, 0) == MIN_SIZE
    assert clamp_size("80", None) == (80, 24) and clamp_size(True, 3.5) == (80, 24)
    assert clamp_size(120, 40) == (120, 40)


def test_a_resize_message_reaches_the_app_clamped():
    sent: list[bytes] = []

    class Pipe:
        def write(self, data: bytes) -> None:
            sent.append(data)

        async def drain(self) -> None:
            return None

    async def nothing(*args) -> None:
        return None

    service = GuestAppService(
        ["true"], write_bytes=nothing, write_str=nothing, close=nothing, download_manager=None
    )
    service._stdin = Pipe()
    asyncio.run(service.set_terminal_size(10**9, -3))
    (packet,) = sent
    assert packet[:1] == b"M" and json.loads(packet[5:]) == {"type": "resize", "width": 500, "height": 5}


def test_a_huge_or_negative_size_in_the_url_starts_the_app_clamped(serving):
    served = serving("sigmoid-chain")

    async def connect() -> None:
        async with aiohttp.ClientSession() as http:
            for query, size in (("width=5000&height=5000", MAX_SIZE), ("width=-7&height=-1", MIN_SIZE)):
                async with http.ws_connect(f"{served.socket_url}?{query}") as ws:
                    wait_until(lambda: len(served.apps()) == 1, 30, "the app process")
                    (app,) = served.apps()
                    wait_until(lambda app=app: "COLUMNS" in environment(app), 30, "the app program")  # exec'd
                    env = environment(app)
                    assert (int(env["COLUMNS"]), int(env["ROWS"])) == size
                    await ws.close()
                wait_until(lambda: not served.apps(), 30, "the app process to end")

    asyncio.run(connect())


# ---------------------------------------------------------------- connections and processes
def test_31_browsers_with_a_cap_of_30_the_last_is_told_and_no_process_outlives_its_socket(serving):
    served = serving("sigmoid-chain", "--max-clients", "30")

    async def crowd() -> None:
        async with aiohttp.ClientSession() as http:
            sockets = [await http.ws_connect(f"{served.socket_url}?width=80&height=24") for _ in range(30)]
            wait_until(lambda: len(served.apps()) == 30, 60, "30 app processes")
            async with http.get(f"{served.url}/") as page:
                assert page.status == 503 and "server is full: 30 browsers" in await page.text()
            last = await http.ws_connect(served.socket_url)
            told = ""
            async for message in last:
                if message.type == aiohttp.WSMsgType.BINARY:
                    told += message.data.decode()
            assert "This backprop-tui server is full: 30 browsers are connected" in told
            assert last.closed and len(served.apps()) == 30  # refused without starting a 31st app
            for ws in sockets:
                await ws.close()
        wait_until(lambda: not served.apps(), 60, "every app process to end")
        async with aiohttp.ClientSession() as http, http.get(f"{served.url}/") as page:
            assert page.status == 200  # room again

    asyncio.run(crowd())


def test_an_app_that_does_not_answer_still_ends_when_its_socket_closes(serving):
    served = serving("sigmoid-chain")

    async def hang_up() -> None:
        async with aiohttp.ClientSession() as http:
            ws = await opened(http, served)
            (pid,) = served.apps()
            os.kill(pid, signal.SIGSTOP)  # frozen: it can answer neither quit nor SIGTERM
            await ws.close()
        wait_until(lambda: not served.apps(), 30, "the frozen app process to be ended")

    asyncio.run(hang_up())


def test_stopping_the_server_ends_every_app_process(serving):
    served = serving("sigmoid-chain")

    async def connect() -> None:
        async with aiohttp.ClientSession() as http:
            await opened(http, served)
            apps = served.apps()
            assert len(apps) == 1
            os.kill(served.process.pid, signal.SIGINT)  # the server alone: the app has its own session
            served.process.wait(timeout=30)
            assert not Path(f"/proc/{apps[0]}").exists()

    asyncio.run(connect())


def test_a_malformed_message_ends_that_connection_not_the_server(serving):
    served = serving("sigmoid-chain")

    async def garbage() -> None:
        async with aiohttp.ClientSession() as http:
            async with http.ws_connect(served.socket_url) as ws:
                await ws.send_str("not json")
                async for _ in ws:
                    pass
            wait_until(lambda: not served.apps(), 30, "the app process to end")
            async with http.get(f"{served.url}/") as page:
                assert page.status == 200

    asyncio.run(garbage())


# ---------------------------------------------------------------- every app process is a guest's
GUEST_PROBE = textwrap.dedent(
    """
    import json, subprocess, sys
    from pathlib import Path
    from tui_backprop.cli.main import main
    from tui_backprop.core import guest, scenarios
    from tui_backprop.core.errors import ScenarioError
    from tui_backprop.teach.lesson import Lesson, save

    guest.enter([sys.argv[1]])
    said = {}
    def attempt(name, action):
        try:
            action()
            said[name] = "done"
        except (OSError, ScenarioError) as exc:
            said[name] = str(exc)
    attempt("open served", lambda: scenarios.load(sys.argv[1]))
    attempt("open builtin", lambda: scenarios.load("softmax"))
    attempt("open other", lambda: scenarios.load(sys.argv[2]))
    attempt("save lesson", lambda: save(Lesson("sigmoid-chain"), "class.toml"))
    attempt("write text", lambda: Path("handout.md").write_text("x"))
    attempt("append", lambda: open(sys.argv[1], "a").close())
    attempt("remove", lambda: Path(sys.argv[1]).unlink())
    attempt("run", lambda: subprocess.run(["true"]))
    said["watched"] = [str(p) for p in scenarios.source_files(scenarios.load(sys.argv[1]))]
    said["catalog"] = [s.slug for s in scenarios.catalog()]
    print(json.dumps(said))
    """
)


def test_a_guest_process_opens_only_what_was_served_and_writes_nothing(tmp_path):
    served = tmp_path / "served.py"
    served.write_text(
        "from helper import SCALE\nfrom tui_backprop import ops\n\n"
        "def build(g, bug=None):\n    return ops.sum(ops.square(g.input('x', [SCALE, 2.0])), name='L')\n"
    )
    (tmp_path / "helper.py").write_text("SCALE = 1.0\n")
    other = tmp_path / "other.py"
    other.write_text("open('marker', 'w').close()\ndef build(g, bug=None):\n    pass\n")
    before = sorted(os.listdir(tmp_path))
    done = subprocess.run(
        [sys.executable, "-c", GUEST_PROBE, str(served), str(other)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    said = json.loads(done.stdout)
    assert said["open served"] == said["open builtin"] == "done"
    assert said["open other"].startswith("a served copy of the app opens only what it was served with")
    for action in ("save lesson", "write text", "append", "remove", "run"):
        assert "a served copy of the app writes no files and runs no programs" in said[action], action
    assert said["watched"] == [str(served)]  # not helper.py, though the scenario imports it
    assert said["catalog"] == [s.slug for s in scenarios.builtins()]  # no plugin
    assert sorted(os.listdir(tmp_path)) == before  # no marker, no lesson, no handout


async def delivery_key(ws: aiohttp.ClientWebSocketResponse, timeout: float) -> str:
    """The key of the next file the app delivers (textual-serve's ``deliver_file_start``)."""

    async def wait() -> str:
        async for message in ws:
            if message.type == aiohttp.WSMsgType.TEXT:
                kind, *rest = json.loads(message.data)
                if kind == "deliver_file_start":
                    return rest[0]
        raise AssertionError("the socket closed before a file was delivered")

    return await asyncio.wait_for(wait(), timeout)


def test_the_served_app_delivers_its_saves_to_the_browser_and_writes_nothing(serving, tmp_path):
    served = serving("sigmoid-chain")

    async def save_both() -> list[tuple[str, str]]:
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"{served.socket_url}?width=120&height=40") as ws,
        ):
            await read_until(ws, "sigmoid-chain forward 1/12", [], 60)
            got = []
            for key, default in ((SAVE_LESSON, "sigmoid-chain.lesson.toml"), (HANDOUT, "-handout.md")):
                await settled(ws)  # nothing pending: the key goes to the stepping view
                await keys(ws, key)
                await read_until(ws, "Enter sends it", [], 30)  # the dialog, worded for a guest
                for _ in range(2):  # its path box blinking: it has the focus
                    await read_until(ws, default, [], 30)
                await keys(ws, "\r")
                found = await delivery_key(ws, 30)
                async with http.get(f"{served.url}/download/{found}") as download:
                    assert download.status == 200
                    got.append((download.headers["Content-Disposition"], await download.text()))
            return got

    (lesson_head, lesson), (handout_head, handout) = asyncio.run(save_both())
    assert "sigmoid-chain.lesson.toml" in lesson_head and 'scenario = "sigmoid-chain"' in lesson
    assert "sigmoid-chain-handout.md" in handout_head and "sigmoid-chain" in handout and "| node |" in handout
    assert os.listdir(tmp_path) == []  # the served app's working directory stays empty


def test_the_served_picker_has_no_path_box_and_lists_the_served_file(serving, tmp_path):
    (tmp_path / "served.py").write_text(
        '"""Served here"""\nfrom tui_backprop import ops\n\n'
        "def build(g, bug=None):\n    return ops.sum(ops.square(g.input('x', [1.0, 2.0])), name='L')\n"
    )
    served = serving("served.py")

    async def open_picker() -> str:
        seen: list[str] = []
        async with (
            aiohttp.ClientSession() as http,
            http.ws_connect(f"{served.socket_url}?width=120&height=40") as ws,
        ):
            await read_until(ws, "served forward 1/", [], 60)
            await settled(ws)  # no redraw pending: what comes next is the answer to "o"
            await keys(ws, "o")
            await read_until(ws, "deep-mlp", seen, 60)  # the picker, filled
            await keys(ws, "/")  # no box to type a path into: nothing happens
            await settled(ws)
            await keys(ws, "\r")  # the served file is highlighted: Enter opens it again
            await read_until(ws, "served forward 1/", seen, 60)
            return plain("".join(seen))

    screen = asyncio.run(open_picker())
    assert "The scenario this server was started with" in screen and "served.py" in screen
    assert "to type here" not in screen and "a path to a scenario" not in screen
