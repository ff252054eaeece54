"""The recording reverse proxy (``nemo-mock record``): an ASGI app that forwards every request to the upstream
with httpx and records each exchange as it happens.

A stream is passed on block by block, each event the moment its blank line arrives, never gathered: the proxy adds
only the time to parse and write one line. URLs in answers that point at the upstream (an upload's ``cdn_url``, a
render's output, media in the events) are rewritten to point at the proxy, and the proxy's own URLs in request
bodies back to the upstream's, so a client downloading through them is recorded too. The cassette keeps the
upstream's spelling; a replay rewrites it to its own address.

Upstream answers are asked for without content coding (``Accept-Encoding: identity``), so they can be read and
rewritten as they pass. A failure to reach the upstream is answered with 502 (recorded with its reason); an
upstream connection that breaks mid-answer breaks the client's too, as it would have directly. Requests go
straight to an httpx transport, not through a client: a client would keep one caller's cookies for the next, and
its URL merging and cookie handling are most of what a request costs here.
"""

from __future__ import annotations

import typing

import anyio
import httpx

from ._body import header, media_type
from ._recorder import EVENT_STREAM, HOP_BY_HOP, ExchangeRecorder, Recorder, origin_of

__all__ = ["RecordingProxy"]

Scope = typing.MutableMapping[str, typing.Any]
Message = typing.MutableMapping[str, typing.Any]
Receive = typing.Callable[[], typing.Awaitable[Message]]
Send = typing.Callable[[Message], typing.Awaitable[None]]

#: Upstream: a stream may be quiet for as long as a turn runs, so reads wait; the client decides when to give up.
_TIMEOUTS = {"timeout": {"connect": 10.0, "read": None, "write": 60.0, "pool": 10.0}}
#: Bodies read whole so their URLs can be rewritten: JSON up to this size (larger ones pass unchanged).
REWRITE_LIMIT = 4 * 1024 * 1024
_PLAIN = "application/json"


def _rewritable(headers: typing.Sequence[tuple[str, str]]) -> bool:
    kind = media_type(header(headers, "content-type"))
    length = header(headers, "content-length")
    small = length is None or (length.isdigit() and int(length) <= REWRITE_LIMIT)
    return (kind == _PLAIN or kind.endswith("+json")) and small


class RecordingProxy:
    """``RecordingProxy(upstream="http://127.0.0.1:8000", recorder=Recorder("out.jsonl", target=...))``.

    ``transport`` is the httpx transport requests go upstream through (made, and closed on shutdown, when not
    given). The recorder is closed by whoever made it.
    """

    def __init__(self, *, upstream: str, recorder: Recorder, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.upstream = origin_of(upstream)
        self.prefix = upstream.rstrip("/")[len(self.upstream) :]  # a base path, if the upstream has one
        self.recorder = recorder
        self._owns_transport = transport is None
        self.transport = transport or httpx.AsyncHTTPTransport()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            await self._exchange(scope, receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def aclose(self) -> None:
        if self._owns_transport:
            await self.transport.aclose()

    # -- one exchange ------------------------------------------------------------------------------------------

    async def _exchange(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        own = f"{scope.get('scheme', 'http')}://{header(headers, 'host') or self._server(scope)}"
        path = scope.get("raw_path", b"").decode("latin-1") or scope["path"]
        path = path.split("?", 1)[0]
        query = scope.get("query_string", b"").decode("latin-1")
        forwarded = [(n, v) for n, v in headers if n.lower() not in HOP_BY_HOP and n.lower() != "accept-encoding"]
        forwarded.append(("Accept-Encoding", "identity"))
        exchange = self.recorder.start(scope["method"], path, query, forwarded, origin=self.upstream)
        body = await self._request_body(receive, headers, own, exchange)
        if isinstance(body, bytes):
            forwarded = [(n, v) for n, v in forwarded if n.lower() != "content-length"]
        url = self.upstream + self.prefix + path + (f"?{query}" if query else "")
        request = httpx.Request(scope["method"], url, headers=forwarded, content=body, extensions=_TIMEOUTS)
        try:
            answer = await self.transport.handle_async_request(request)
        except httpx.HTTPError as exc:
            exchange.failed(exc)
            await _plain(send, 502, f"the upstream {self.upstream} did not answer: {type(exc).__name__}")
            return
        try:
            await self._answer(answer, exchange, own, receive, send)
        finally:
            await answer.aclose()

    @staticmethod
    def _server(scope: Scope) -> str:
        host, port = scope.get("server") or ("127.0.0.1", 80)
        return f"{host}:{port}"

    async def _request_body(
        self, receive: Receive, headers: list[tuple[str, str]], own: str, exchange: ExchangeRecorder
    ) -> bytes | typing.AsyncIterator[bytes]:
        """A JSON body read whole with the proxy's URLs turned back into the upstream's; any other streamed on."""
        if _rewritable(headers):
            chunks = []
            while True:
                message = await receive()
                chunks.append(message.get("body", b""))
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
            body = b"".join(chunks).replace(own.encode(), self.upstream.encode())
            exchange.request_chunk(body)
            return body

        async def stream() -> typing.AsyncIterator[bytes]:
            while True:
                message = await receive()
                chunk = message.get("body", b"")
                if chunk:
                    exchange.request_chunk(chunk)
                    yield chunk
                if message["type"] != "http.request" or not message.get("more_body", False):
                    return

        return stream()

    async def _answer(
        self, answer: httpx.Response, exchange: ExchangeRecorder, own: str, receive: Receive, send: Send
    ) -> None:
        raw = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in answer.headers.raw]
        exchange.response(answer.status_code, raw)
        kept = [(n, v) for n, v in raw if n.lower() not in HOP_BY_HOP]
        location = header(kept, "location")
        if location is not None:
            kept = [(n, v.replace(self.upstream, own, 1) if n.lower() == "location" else v) for n, v in kept]
        stream = media_type(header(kept, "content-type")) == EVENT_STREAM
        upstream, mine = self.upstream.encode(), own.encode()
        if not stream and _rewritable(kept):
            body = b""
            try:
                async for chunk in _raw_chunks(answer):
                    exchange.chunk(chunk)
                    body += chunk
            except httpx.HTTPError:
                exchange.finish(reason="reset")
                await _plain(send, 502, f"the upstream {self.upstream} broke off its answer")
                return
            exchange.finish()
            body = body.replace(upstream, mine)
            kept = [(n, v) for n, v in kept if n.lower() != "content-length"] + [("content-length", str(len(body)))]
            await send({"type": "http.response.start", "status": answer.status_code, "headers": _raw(kept)})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": answer.status_code, "headers": _raw(kept)})
        async with anyio.create_task_group() as group:

            async def watch() -> None:  # the client leaving ends the stream at once
                while (await receive())["type"] != "http.disconnect":
                    pass
                if not exchange.finished:
                    exchange.finish(by="client", reason="client_disconnect")
                group.cancel_scope.cancel()

            group.start_soon(watch)
            try:
                async for chunk in _raw_chunks(answer):
                    if stream:
                        for block in exchange.chunk(chunk):
                            block = block.replace(upstream, mine)
                            await send({"type": "http.response.body", "body": block, "more_body": True})
                    else:
                        exchange.chunk(chunk)
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
            except httpx.HTTPError:
                # The upstream broke off: so does this answer (returning without its last chunk drops the
                # connection, as the upstream's did).
                rest = exchange.rest
                exchange.finish(reason="reset")
                if rest:
                    await send({"type": "http.response.body", "body": rest, "more_body": True})
                group.cancel_scope.cancel()
                return
            rest = exchange.rest
            exchange.finish()
            await send({"type": "http.response.body", "body": rest, "more_body": False})
            group.cancel_scope.cancel()


async def _raw_chunks(answer: httpx.Response) -> typing.AsyncIterator[bytes]:
    """The answer's bytes as they come (all at once when a transport has read it already, as test ones do)."""
    if answer.is_stream_consumed:
        yield answer.content
        return
    async for chunk in answer.aiter_raw():
        yield chunk


def _raw(headers: typing.Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    return [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]


async def _plain(send: Send, status: int, text: str) -> None:
    body = text.encode()
    headers = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
