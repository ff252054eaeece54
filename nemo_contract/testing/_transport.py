"""An httpx transport that calls an ASGI app in-process and streams its response as it is produced.

httpx's own ``ASGITransport`` collects the whole body before returning (encode/httpx#2186), so an SSE
stream arrives all at once and an endless one never does. This one returns when the app starts its
response, hands body chunks over as the app sends them, and tells the app the client went away
(``http.disconnect``) when the response is closed early, as a real server would.
"""

from __future__ import annotations

import asyncio
import contextlib
import typing

import httpx

if typing.TYPE_CHECKING:
    from anyio.from_thread import BlockingPortal

__all__ = ["PortalTransport", "StreamingASGITransport"]

_ASGIApp = typing.Callable[
    [typing.MutableMapping[str, typing.Any], typing.Callable[[], typing.Awaitable[typing.Any]], typing.Any],
    typing.Awaitable[None],
]
_DONE = object()


class _Exchange:
    """One request: the app runs in a task; body chunks go through a queue."""

    def __init__(self, app: _ASGIApp, scope: dict[str, typing.Any], body: typing.AsyncIterable[bytes]) -> None:
        self.app, self.scope, self.body = app, scope, body
        self.chunks: asyncio.Queue[object] = asyncio.Queue()
        self.started: asyncio.Future[tuple[int, list[tuple[bytes, bytes]]]] = asyncio.Future()
        self.disconnected = asyncio.Event()
        self.task: asyncio.Task[None] | None = None
        self._request = aiter(self.body)
        self._request_done = False

    async def receive(self) -> dict[str, typing.Any]:
        if not self._request_done:
            try:
                chunk = await anext(self._request)
            except StopAsyncIteration:
                self._request_done = True
                return {"type": "http.request", "body": b"", "more_body": False}
            return {"type": "http.request", "body": chunk, "more_body": True}
        await self.disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(self, message: typing.MutableMapping[str, typing.Any]) -> None:
        if self.disconnected.is_set():
            raise OSError("client disconnected")
        if message["type"] == "http.response.start":
            if not self.started.done():
                self.started.set_result((message["status"], list(message.get("headers", []))))
        elif message["type"] == "http.response.body":
            body = message.get("body", b"")
            if body:
                self.chunks.put_nowait(bytes(body))
            if not message.get("more_body", False):
                self.chunks.put_nowait(_DONE)

    async def run(self) -> None:
        try:
            await self.app(self.scope, self.receive, self.send)
        except Exception as exc:
            if not self.started.done():
                self.started.set_exception(exc)
            self.chunks.put_nowait(exc)
        finally:
            if not self.started.done():
                self.started.set_exception(RuntimeError("the ASGI app returned without a response"))
            self.chunks.put_nowait(_DONE)

    async def close(self) -> None:
        self.disconnected.set()
        if self.task is not None and not self.task.done():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.task), timeout=1.0)
            if not self.task.done():
                self.task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self.task


class _Body(httpx.AsyncByteStream):
    def __init__(self, exchange: _Exchange) -> None:
        self.exchange = exchange

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        while True:
            item = await self.exchange.chunks.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise httpx.ReadError(f"the app failed mid-response: {item!r}") from item
            assert isinstance(item, bytes)
            yield item

    async def aclose(self) -> None:
        await self.exchange.close()


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """``httpx.AsyncClient(transport=StreamingASGITransport(app), base_url="http://emulator")`` (asyncio only)."""

    def __init__(self, app: typing.Any, *, client: tuple[str, int] = ("127.0.0.1", 50000)) -> None:
        self.app = app
        self.client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        assert isinstance(request.stream, httpx.AsyncByteStream)
        url = request.url
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": url.scheme,
            "path": url.path,
            "raw_path": url.raw_path.split(b"?")[0],
            "query_string": url.query,
            "server": (url.host, url.port or (443 if url.scheme == "https" else 80)),
            "client": self.client,
            "root_path": "",
            "state": {},
        }
        exchange = _Exchange(self.app, scope, request.stream)
        exchange.task = asyncio.get_running_loop().create_task(exchange.run())
        status, headers = await exchange.started
        return httpx.Response(status, headers=headers, stream=_Body(exchange))


class _PortalBody(httpx.SyncByteStream):
    """An async response body read from a synchronous caller, through the portal's event loop."""

    def __init__(self, response: httpx.Response, portal: BlockingPortal) -> None:
        self._response = response
        self._portal = portal
        self._chunks = response.aiter_raw()

    def __iter__(self) -> typing.Iterator[bytes]:
        while True:
            chunk = self._portal.call(_next_chunk, self._chunks)
            if chunk is None:
                return
            yield chunk

    def close(self) -> None:
        self._portal.call(self._response.aclose)


async def _next_chunk(chunks: typing.AsyncIterator[bytes]) -> bytes | None:
    return await anext(chunks, None)


class PortalTransport(httpx.BaseTransport):
    """``httpx.Client(transport=PortalTransport(app, portal))``: the streaming transport for synchronous code.

    The app runs on the event loop of an anyio ``BlockingPortal`` (a thread of its own); each body chunk is handed
    over as the app sends it, as with ``StreamingASGITransport``.
    """

    def __init__(self, app: typing.Any, portal: BlockingPortal, *, client: tuple[str, int] = ("127.0.0.1", 50000)):
        self._inner = StreamingASGITransport(app, client=client)
        self._portal = portal

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()  # a request body is read whole: what a test sends is small
        forwarded = httpx.Request(request.method, request.url, headers=request.headers, content=body)
        response = self._portal.call(self._inner.handle_async_request, forwarded)
        return httpx.Response(
            response.status_code, headers=response.headers, stream=_PortalBody(response, self._portal)
        )
