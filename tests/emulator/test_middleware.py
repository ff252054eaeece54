"""The layer around every request: a bug of ours still answers with an envelope, and the app's stack is whole."""

from __future__ import annotations

import json
import logging
import typing

import anyio
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mock_server._emulator import Emulator
from nemo_contract.protocol.control import StreamEnd

pytestmark = pytest.mark.anyio

BUG = {"code": 500, "message": "internal error in the emulator", "data": None}


async def _broken(request: Request) -> Response:
    raise RuntimeError("a bug")


async def _broken_mid_stream(request: Request) -> Response:
    async def chunks() -> object:
        yield b"first"
        raise RuntimeError("a bug mid-answer")

    return StreamingResponse(chunks(), media_type="application/octet-stream")  # type: ignore[arg-type]


@pytest.mark.parametrize("path", ["/api/broken", "/__mock__/broken"])
async def test_a_bug_answers_500_with_the_envelope_and_is_logged(
    app: Starlette, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    app.router.routes.append(Route(path, _broken))
    with caplog.at_level(logging.ERROR, logger="nemo_mock"):
        response = await client.get(path)
    assert response.status_code == 500 and response.json() == BUG
    (record,) = [r for r in caplog.records if r.name == "nemo_mock"]
    assert record.getMessage() == f"unexpected error on GET {path}" and record.exc_info is not None


async def test_the_journal_records_a_bugs_500(app: Starlette, emulator: Emulator, client: httpx.AsyncClient) -> None:
    app.router.routes.append(Route("/api/broken", _broken))
    await client.get("/api/broken")
    (entry,) = emulator.journal.find(path="/api/broken")
    assert (entry.status, entry.code, entry.complete) == (500, 500, True)


async def test_a_bug_after_the_answer_started_sends_nothing_more(
    app: Starlette, emulator: Emulator, client: httpx.AsyncClient
) -> None:
    app.router.routes.append(Route("/api/broken", _broken_mid_stream))
    async with client.stream("GET", "/api/broken") as response:
        assert response.status_code == 200
        with pytest.raises(httpx.ReadError):
            await response.aread()
    (entry,) = emulator.journal.find(path="/api/broken")
    assert (entry.status, entry.response_size, entry.complete, entry.end) == (200, len(b"first"), False, "cut")


async def _call(app: Starlette, path: str) -> tuple[list[Message], BaseException | None]:
    """Every message the app sends for ``GET path``, and what it raised."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"emulator.test")],
        "client": ("127.0.0.1", 5000),
        "server": ("emulator.test", 80),
    }
    sent: list[Message] = []
    requested = False

    async def receive() -> Message:
        nonlocal requested
        if requested:  # a client that stays connected
            await anyio.sleep_forever()
        requested = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    try:
        await app(scope, receive, send)
    except Exception as exc:
        return sent, exc
    return sent, None


@pytest.mark.parametrize("path", ["/api/broken", "/__mock__/broken"])
async def test_a_bug_after_the_answer_started_starts_no_second_answer(app: Starlette, path: str) -> None:
    """No 500 can follow a 200 already on the wire; the bug goes on to the server, which drops the connection."""
    app.router.routes.append(Route(path, _broken_mid_stream))
    sent, raised = await _call(app, path)
    assert [m["type"] for m in sent].count("http.response.start") == 1 and sent[0]["status"] == 200
    assert isinstance(raised, RuntimeError)


async def test_a_bug_before_any_answer_reaches_the_server_after_the_envelope(app: Starlette) -> None:
    """As Starlette's ServerErrorMiddleware does: the 500 goes out, then the error is raised on for the server."""
    app.router.routes.append(Route("/api/broken", _broken))
    sent, raised = await _call(app, "/api/broken")
    assert sent[0]["status"] == 500 and json.loads(typing.cast(bytes, sent[1]["body"])) == BUG
    assert isinstance(raised, RuntimeError)


class _Answering:
    """Added middleware that answers /api/short itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/api/short":
            await Response(b"short", status_code=203)(scope, receive, send)
            return
        await self.app(scope, receive, send)


async def test_added_middleware_runs_inside_the_journal_and_the_faults(
    app: Starlette, emulator: Emulator, client: httpx.AsyncClient
) -> None:
    app.add_middleware(_Answering)
    answer = await client.get("/api/short")
    assert (answer.status_code, answer.text) == (203, "short")
    (entry,) = emulator.journal.find(path="/api/short")
    assert entry.status == 203
    faulted = await client.get("/api/short", headers={"X-Mock-Fault": "429"})
    assert faulted.status_code == 429 and faulted.json()["code"] == 429


async def test_a_handler_of_ones_own_for_bugs_is_kept(
    app: Starlette, emulator: Emulator, client: httpx.AsyncClient
) -> None:
    """A handler for 500 (or a body limit, or debug tracebacks) needs Starlette's own stack: it is built, with the
    journal and the faults still around it."""

    async def own(request: Request, exc: Exception) -> Response:
        return Response(b"handled by the app's own handler", status_code=500)

    app.add_exception_handler(500, own)
    app.router.routes.append(Route("/api/broken", _broken))
    answer = await client.get("/api/broken")
    assert (answer.status_code, answer.text) == (500, "handled by the app's own handler")
    (entry,) = emulator.journal.find(path="/api/broken")
    assert entry.status == 500


async def test_debug_tracebacks_are_kept(app: Starlette, client: httpx.AsyncClient) -> None:
    app.debug = True
    app.router.routes.append(Route("/api/broken", _broken))
    answer = await client.get("/api/broken")
    assert answer.status_code == 500 and "RuntimeError: a bug" in answer.text


async def test_a_body_limit_set_on_the_app_still_applies(app: Starlette, client: httpx.AsyncClient) -> None:
    app.max_body_size = 8
    token = (await client.post("/api/auth/anonymous-token", headers={"X-Client-Id": "c"})).json()["data"]["token"]
    answer = await client.post(
        "/api/tasks/me/with-session/nemo_agent",
        json={"task_name": "a name longer than eight bytes"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 413


def test_a_client_that_leaves_mid_body_is_journalled_as_gone_not_as_a_bug(caplog: pytest.LogCaptureFixture) -> None:
    """A body shorter than its Content-Length, then the client closes: a disconnect, not a 500 of ours."""
    import socket

    from nemo_contract.testing import Served

    with Served(seed=1) as served, caplog.at_level(logging.DEBUG, logger="nemo_mock"):
        host, port = served.url.removeprefix("http://").split(":")
        token = httpx.post(f"{served.url}/api/auth/anonymous-token", headers={"X-Client-Id": "c"}).json()["data"]
        head = (
            "POST /api/tasks/me/with-session/nemo_agent HTTP/1.1\r\n"
            f"Host: {host}\r\nAuthorization: Bearer {token['token']}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
        )
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(head.encode() + b'{"task_name": "pro')
            assert _soon(lambda: served.emulator.entries(path="/api/tasks/*"))  # in the journal, waiting for its body
        (entry,) = served.emulator.entries(path="/api/tasks/*")
        assert _soon(lambda: entry.end is not None)
    assert (entry.status, entry.code, entry.end, entry.complete) == (None, None, StreamEnd.CLIENT_GONE, False)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def _soon(condition: typing.Callable[[], object], seconds: float = 5.0) -> bool:
    """Whether ``condition()`` holds within ``seconds`` (checked every 10 ms): for what another thread does."""
    import time

    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
