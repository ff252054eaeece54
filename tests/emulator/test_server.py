"""The limits of ``nemo-mock serve``'s connections (``mock_server._guard``), on both of uvicorn's HTTP stacks.

Each test runs a real uvicorn, configured as ``nemo-mock serve`` configures it, on a loopback port in a thread,
and talks to it over raw sockets: what is checked is the bytes on the wire. Timeouts are shortened so the suite
stays fast; the tests check what happens, never how long it took.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import select
import socket
import subprocess
import sys
import threading
import time
import typing

import pytest
import uvicorn

from mock_server import create_app
from mock_server._guard import BODY_TIMEOUT, HEAD_BYTES, HEAD_TIMEOUT, KEEP_ALIVE, Limits
from mock_server._server import server_config
from nemo_contract.protocol.specs import ADMIN_SPEC, load_spec

pytestmark = pytest.mark.live

STACKS = [pytest.param(("h11", "asyncio"), id="h11-asyncio"), pytest.param(("httptools", "uvloop"), id="httptools")]
#: Short timeouts, so that a test waits a fraction of a second for what takes 5-10 s in ``nemo-mock serve``.
QUICK = Limits(head_timeout=0.5, body_timeout=0.5, keep_alive=1)
#: Long enough for anything these tests wait for; a test that reaches it has failed.
PATIENCE = 8.0


class Recorder:
    """A small ASGI app that reads the whole body (after ``delay`` seconds) and notes every message it got."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.seen: list[str] = []
        self.reading = threading.Event()

    async def __call__(
        self,
        scope: dict[str, typing.Any],
        receive: typing.Callable[[], typing.Awaitable[dict[str, typing.Any]]],
        send: typing.Callable[[dict[str, typing.Any]], typing.Awaitable[None]],
    ) -> None:
        if scope["type"] == "lifespan":
            while (message := await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        await asyncio.sleep(self.delay)
        size = 0
        while True:
            message = await receive()
            self.seen.append(message["type"])
            self.reading.set()
            if message["type"] == "http.disconnect":
                return
            size += len(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = str(size).encode()
        headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


@contextlib.contextmanager
def running(app: typing.Any, stack: tuple[str, str], limits: Limits = QUICK) -> typing.Iterator[int]:
    """``app`` under uvicorn as ``nemo-mock serve`` runs it (with ``limits``), in a thread; yields the port."""
    http, loop = stack
    server = uvicorn.Server(server_config(app, http=http, loop=loop, log_level="error", limits=limits))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the server did not start"
        time.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=PATIENCE + 5)


@pytest.fixture
def emulator_app() -> typing.Iterator[typing.Any]:
    application = create_app(seed=1, time_scale=0.0)
    yield application
    application.state.emulator.close()


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.settimeout(PATIENCE)
    return sock


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def read_one(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """One response with a Content-Length, leaving the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a whole response head: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status, headers = parse_head(head)
    while len(body) < int(headers["content-length"]):
        body += sock.recv(65536)
    return status, headers, body


def parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return int(lines[0].split()[1]), headers


def responses(data: bytes) -> list[tuple[int, dict[str, str], bytes]]:
    """The responses in ``data``, each with its Content-Length."""
    found = []
    while data:
        head, _, rest = data.partition(b"\r\n\r\n")
        status, headers = parse_head(head)
        length = int(headers["content-length"])
        found.append((status, headers, rest[:length]))
        data = rest[length:]
    return found


def request(path: str = "/__mock__/health", *, extra: bytes = b"", close: bool = False) -> bytes:
    connection = b"Connection: close\r\n" if close else b""
    return f"GET {path} HTTP/1.1\r\nHost: test\r\n".encode() + extra + connection + b"\r\n"


def padded(size: int, *, close: bool = True) -> bytes:
    """A request whose whole head is exactly ``size`` bytes."""
    bare = len(request(extra=b"X-Pad: \r\n", close=close))
    return request(extra=b"X-Pad: " + b"a" * (size - bare) + b"\r\n", close=close)


def assert_envelope(answer: tuple[int, dict[str, str], bytes], status: int, words: str) -> None:
    code, headers, body = answer
    assert code == status, (code, body)
    assert headers["content-type"] == "application/json" and headers["connection"] == "close"
    assert body.startswith(b'{"code":400,"message":"') and body.endswith(b'","data":null}'), body
    assert words in json.loads(body)["message"]


# ------------------------------------------------------------------------------------------------- head size


@pytest.mark.parametrize("stack", STACKS)
def test_a_head_at_the_limit_is_served_and_one_byte_more_is_431(stack: tuple[str, str], emulator_app: object) -> None:
    with running(emulator_app, stack) as port:
        with connect(port) as sock:
            sock.sendall(padded(HEAD_BYTES))
            assert responses(read_all(sock))[0][0] == 200
        with connect(port) as sock:
            sock.sendall(padded(HEAD_BYTES + 1))
            (answer,) = responses(read_all(sock))  # and the server closes the connection
        assert_envelope(answer, 431, f"over {HEAD_BYTES} bytes")


@pytest.mark.parametrize("stack", STACKS)
def test_an_endless_header_is_refused_without_being_read(stack: tuple[str, str], emulator_app: object) -> None:
    sent, total = 0, 256 * 1024 * 1024
    with running(emulator_app, stack) as port, connect(port) as sock:
        sock.sendall(b"GET /__mock__/health HTTP/1.1\r\nHost: test\r\nX-Big: ")
        chunk = b"a" * 65536
        with contextlib.suppress(ConnectionError):
            while sent < total:
                sock.sendall(chunk)
                sent += len(chunk)
        answer = responses(read_all(sock))
    assert sent < total  # the server stopped reading long before the end (kernel buffers took the rest)
    assert_envelope(answer[0], 431, "too large")


@pytest.mark.parametrize("stack", STACKS)
def test_a_large_head_arriving_whole_in_one_read_is_431(stack: tuple[str, str], emulator_app: object) -> None:
    # h11's own limit only looks at a head still incomplete: a complete one in a single read would pass it.
    with running(emulator_app, stack) as port, connect(port) as sock:
        sock.sendall(padded(3 * HEAD_BYTES))
        assert_envelope(responses(read_all(sock))[0], 431, "too large")


@pytest.mark.parametrize("stack", STACKS)
def test_pipelined_requests_get_their_answers_in_order_and_an_oversized_one_its_431_last(
    stack: tuple[str, str], emulator_app: object
) -> None:
    with running(emulator_app, stack) as port:
        with connect(port) as sock:
            sock.sendall(request() + padded(HEAD_BYTES - 100, close=False) + request(close=True))
            assert [status for status, _, _ in responses(read_all(sock))] == [200, 200, 200]
        with connect(port) as sock:
            sock.sendall(request() + request() + padded(HEAD_BYTES + 2000, close=False))
            answers = responses(read_all(sock))
        assert [status for status, _, _ in answers] == [200, 200, 431]
        assert_envelope(answers[2], 431, "too large")


@pytest.mark.parametrize("stack", STACKS)
def test_an_oversized_head_right_after_a_body_in_the_same_read_is_431(
    stack: tuple[str, str], emulator_app: object
) -> None:
    body = b'{"seconds":1}'
    with running(emulator_app, stack) as port, connect(port) as sock:
        sock.sendall(b"POST /__mock__/clock/advance HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n")
        sock.sendall(f"Content-Length: {len(body)}\r\n\r\n".encode())
        time.sleep(0.1)  # the server has the head and waits for the body: the next read starts in the body
        sock.sendall(body + padded(2 * HEAD_BYTES))
        answers = responses(read_all(sock))
    assert [status for status, _, _ in answers] == [200, 431]


@pytest.mark.parametrize("stack", STACKS)
def test_a_request_the_parser_cannot_read_is_400_in_the_envelope(stack: tuple[str, str], emulator_app: object) -> None:
    with running(emulator_app, stack) as port, connect(port) as sock:
        sock.sendall(b"GET /__mock__/health HTTP/1.1\r\nHost: test\r\nBad Header\r\n\r\n")
        assert_envelope(responses(read_all(sock))[0], 400, "invalid HTTP request")


# -------------------------------------------------------------------------------------------------- timeouts


@pytest.mark.parametrize("stack", STACKS)
def test_a_connection_that_sends_nothing_is_closed_without_an_answer(stack: tuple[str, str]) -> None:
    with running(Recorder(), stack) as port, connect(port) as sock:
        assert read_all(sock) == b""


@pytest.mark.parametrize("stack", STACKS)
def test_half_a_head_is_408_and_after_an_answer_too(stack: tuple[str, str], emulator_app: object) -> None:
    with running(emulator_app, stack) as port:
        with connect(port) as sock:
            sock.sendall(b"GET /__mock__/health HTTP/1.1\r\n")
            assert_envelope(responses(read_all(sock))[0], 408, "request head timed out")
        with connect(port) as sock:
            sock.sendall(request())
            assert read_one(sock)[0] == 200
            sock.sendall(b"GET /__mock__/health HTTP/1.1\r\n")
            assert_envelope(responses(read_all(sock))[0], 408, "request head timed out")
        with connect(port) as sock:
            sock.sendall(request())
            assert read_one(sock)[0] == 200
            assert read_all(sock) == b""  # idle after an answer: closed, nothing said


@pytest.mark.parametrize("stack", STACKS)
def test_a_head_trickling_in_still_times_out(stack: tuple[str, str], emulator_app: object) -> None:
    # The head limit is a deadline, not an inactivity timeout: a byte now and then does not keep it open.
    with running(emulator_app, stack) as port, connect(port) as sock:
        sock.sendall(b"GET /__mock__/health HTTP/1.1\r\n")
        deadline = time.monotonic() + PATIENCE
        while not select.select([sock], [], [], 0.05)[0]:
            assert time.monotonic() < deadline, "the trickling head was never cut off"
            sock.sendall(b"X")
        assert_envelope(responses(read_all(sock))[0], 408, "request head timed out")


@pytest.mark.parametrize("stack", STACKS)
def test_a_body_shorter_than_its_length_is_408_and_the_app_sees_the_disconnect(stack: tuple[str, str]) -> None:
    app = Recorder()
    with running(app, stack) as port, connect(port) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n" + b"a" * 23)
        answer = responses(read_all(sock))
    assert_envelope(answer[0], 408, "request body timed out")
    assert app.seen[-1] == "http.disconnect"


@pytest.mark.parametrize("stack", STACKS)
def test_a_slow_body_that_keeps_moving_is_served(stack: tuple[str, str]) -> None:
    # Inactivity, not total time: eight pieces 0.2 s apart take three times the body timeout.
    with running(Recorder(), stack) as port, connect(port) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: 80\r\n\r\n")
        for _ in range(8):
            time.sleep(0.2)
            sock.sendall(b"b" * 10)
        assert read_one(sock)[::2] == (200, b"80")


@pytest.mark.parametrize("stack", STACKS)
def test_a_body_the_server_is_not_reading_yet_is_not_late(stack: tuple[str, str]) -> None:
    # The app reads only after twice the body timeout; meanwhile uvicorn stops reading (its buffer is full).
    size = 4 * 1024 * 1024
    with running(Recorder(delay=1.0), stack) as port, connect(port) as sock:
        sock.sendall(f"POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: {size}\r\n\r\n".encode() + bytes(size))
        assert read_one(sock)[::2] == (200, str(size).encode())


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize(
    ("ask_after", "start_after"),
    [
        pytest.param(1.0, 0.0, id="asked-after-two-timeouts"),
        # The app asks (and so the 100 goes out) just before the guard's look at 1.0 s, and the client takes
        # 0.2 s to start: the guard once counted the wait for the 100 and answered 408 at that look.
        pytest.param(0.95, 0.2, id="asked-just-before-a-look"),
    ],
)
def test_a_client_waiting_for_100_continue_is_not_late(
    stack: tuple[str, str], ask_after: float, start_after: float
) -> None:
    # The body timeout is 0.5 s: it runs from the moment the client is told to go on, never before.
    with running(Recorder(delay=ask_after), stack) as port, connect(port) as sock:
        sock.sendall(b"POST /x HTTP/1.1\r\nHost: test\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n")
        interim = sock.recv(65536)
        assert interim.startswith(b"HTTP/1.1 100 "), interim
        time.sleep(start_after)
        sock.sendall(b"hello")
        assert read_one(sock)[::2] == (200, b"5")


@pytest.mark.parametrize("stack", STACKS)
def test_shutdown_cuts_a_body_still_arriving(stack: tuple[str, str]) -> None:
    # Without the cut, shutdown would wait for the body until uvicorn's graceful timeout cancelled the request,
    # and the app would never be told the client is gone. The socket stays open until the server has stopped.
    app = Recorder()
    opened: list[socket.socket] = []
    try:
        with running(app, stack, Limits(body_timeout=60)) as port:
            opened.append(connect(port))
            opened[0].sendall(b"POST /x HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n" + b"a" * 10)
            assert app.reading.wait(PATIENCE)
    finally:
        for sock in opened:
            sock.close()
    assert app.seen[-1] == "http.disconnect"


# ------------------------------------------------------------------------------------------ documented limits


def test_the_documented_limits_are_the_enforced_ones() -> None:
    description = load_spec(ADMIN_SPEC)["info"]["description"]
    section = " ".join(description.split("## Connection limits", 1)[1].split())
    assert f"at most {HEAD_BYTES} bytes ({HEAD_BYTES // 1024} KiB)" in section
    assert f"complete within {HEAD_TIMEOUT:g} s" in section
    assert f"closed after {KEEP_ALIVE} s" in section
    assert f"at most {BODY_TIMEOUT:g} s without a byte" in section
    help_text = subprocess.run(
        [sys.executable, "-m", "mock_server", "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    said = " ".join(help_text.split())
    assert f"over {HEAD_BYTES // 1024} KiB are answered 431" in said
    assert re.search(rf"within {HEAD_TIMEOUT:g} s .* stall for {BODY_TIMEOUT:g} s .* after {KEEP_ALIVE} s", said)
