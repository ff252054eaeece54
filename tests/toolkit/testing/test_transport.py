"""The streaming transports hand each chunk over as the app sends it, and tell the app when the client leaves.

The app below sends its second chunk only after the test has read the first: a transport that buffered the body
(as httpx's own ``ASGITransport`` does) would never return the first, and the test would fail on its timeout.
"""

from __future__ import annotations

import threading
import typing

import anyio
import httpx
import pytest
from anyio.from_thread import start_blocking_portal

from nemo_contract.testing import PortalTransport, StreamingASGITransport

pytestmark = pytest.mark.anyio


class Gated:
    """An ASGI app that streams ``first``, waits for ``go``, then streams ``second``."""

    def __init__(self) -> None:
        self.go = threading.Event()  # set from the test, read from the app's loop

    async def __call__(self, scope: typing.Any, receive: typing.Any, send: typing.Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        assert await anyio.to_thread.run_sync(self.go.wait, 5)
        await send({"type": "http.response.body", "body": b"second", "more_body": False})


class Listening:
    """An ASGI app that streams one chunk, then listens (as an SSE handler does) for the client to leave."""

    def __init__(self) -> None:
        self.heard = False

    async def __call__(self, scope: typing.Any, receive: typing.Any, send: typing.Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"first", "more_body": True})
        while (await receive())["type"] == "http.request":  # the (empty) request body; then the client goes
            pass
        self.heard = True


async def test_the_async_transport_hands_the_first_chunk_over_before_the_body_ends() -> None:
    app = Gated()
    async with httpx.AsyncClient(transport=StreamingASGITransport(app), base_url="http://test") as client:
        with anyio.fail_after(3):
            async with client.stream("GET", "/") as response:
                chunks = response.aiter_raw()
                assert await anext(chunks) == b"first"  # the app is still waiting: nothing was buffered
                app.go.set()
                assert await anext(chunks) == b"second"


async def test_the_async_transport_tells_the_app_when_the_client_leaves() -> None:
    app = Listening()
    async with httpx.AsyncClient(transport=StreamingASGITransport(app), base_url="http://test") as client:
        with anyio.fail_after(3):
            async with client.stream("GET", "/") as response:
                assert await anext(response.aiter_raw()) == b"first"
    assert app.heard


@pytest.mark.parametrize("anyio_backend", ["asyncio"])
def test_the_sync_transport_hands_the_first_chunk_over_before_the_body_ends(anyio_backend: str) -> None:
    app = Gated()
    with (
        start_blocking_portal(anyio_backend) as portal,
        httpx.Client(transport=PortalTransport(app, portal), base_url="http://test", timeout=3) as client,
        client.stream("GET", "/") as response,
    ):
        chunks = response.iter_raw()
        assert next(chunks) == b"first"
        app.go.set()
        assert next(chunks) == b"second"
