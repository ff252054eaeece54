"""The layer around every request: a bug of ours still answers with an envelope, and the app's stack is whole."""

from __future__ import annotations

import logging

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from mock_server._emulator import Emulator

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
    assert (entry.status, entry.head, entry.complete) == (200, b"first", False)


async def test_added_middleware_still_runs(app: Starlette, client: httpx.AsyncClient) -> None:
    class Tagging:
        def __init__(self, app: ASGIApp) -> None:
            self.app = app

        async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
            scope.setdefault("state", {})["tagged"] = True
            await self.app(scope, receive, send)

    async def tagged(request: Request) -> Response:
        return Response(str(request.state.tagged))

    app.add_middleware(Tagging)
    app.router.routes.append(Route("/api/tagged", tagged))
    assert (await client.get("/api/tagged")).text == "True"
