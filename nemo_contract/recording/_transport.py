"""httpx transports that record every exchange that passes through them, around any other transport.

    recorder = Recorder("session.jsonl")
    async with httpx.AsyncClient(transport=AsyncRecordingTransport(recorder=recorder)) as http: ...
    recorder.close()

The request body is summed up as the wrapped transport reads it; the answer's body as the client reads it, so a
stream's events are recorded one by one when the client gets them and nothing is buffered on the way. An answer the
client stops reading ends as ``client_disconnect``; one whose connection fails mid-way as ``reset``.
"""

from __future__ import annotations

import typing

import httpx

from ._recorder import ExchangeRecorder, Recorder, origin_of

__all__ = ["AsyncRecordingTransport", "RecordingTransport"]


def _start(recorder: Recorder, request: httpx.Request) -> ExchangeRecorder:
    url = request.url
    headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw]
    return recorder.start(
        request.method,
        url.path,
        url.query.decode("latin-1"),
        headers,
        origin=origin_of(str(url)),
    )


def _head(exchange: ExchangeRecorder, response: httpx.Response) -> None:
    headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers.raw]
    exchange.response(response.status_code, headers)


class _AsyncRequestTap(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, exchange: ExchangeRecorder) -> None:
        self.stream, self.exchange = stream, exchange

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        async for chunk in self.stream:
            self.exchange.request_chunk(chunk)
            yield chunk


class _AsyncAnswerTap(httpx.AsyncByteStream):
    def __init__(self, stream: httpx.AsyncByteStream, exchange: ExchangeRecorder) -> None:
        self.stream, self.exchange = stream, exchange

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        try:
            async for chunk in self.stream:
                self.exchange.chunk(chunk)
                yield chunk
        except httpx.TransportError:
            self.exchange.finish(reason="reset")
            raise
        self.exchange.finish()

    async def aclose(self) -> None:
        if not self.exchange.finished:
            self.exchange.finish(by="client", reason="client_disconnect")
        await self.stream.aclose()


class AsyncRecordingTransport(httpx.AsyncBaseTransport):
    """Records through ``recorder`` every exchange of the wrapped transport (default: httpx's own)."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None, *, recorder: Recorder) -> None:
        self.transport = transport or httpx.AsyncHTTPTransport()
        self.recorder = recorder

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange = _start(self.recorder, request)
        stream = request.stream
        if isinstance(stream, httpx.AsyncByteStream):
            request.stream = _AsyncRequestTap(stream, exchange)
        try:
            response = await self.transport.handle_async_request(request)
        except BaseException as exc:
            exchange.failed(exc)
            raise
        finally:
            request.stream = stream
        _head(exchange, response)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_AsyncAnswerTap(response.stream, exchange),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self.transport.aclose()


class _RequestTap(httpx.SyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream, exchange: ExchangeRecorder) -> None:
        self.stream, self.exchange = stream, exchange

    def __iter__(self) -> typing.Iterator[bytes]:
        for chunk in self.stream:
            self.exchange.request_chunk(chunk)
            yield chunk


class _AnswerTap(httpx.SyncByteStream):
    def __init__(self, stream: httpx.SyncByteStream, exchange: ExchangeRecorder) -> None:
        self.stream, self.exchange = stream, exchange

    def __iter__(self) -> typing.Iterator[bytes]:
        try:
            for chunk in self.stream:
                self.exchange.chunk(chunk)
                yield chunk
        except httpx.TransportError:
            self.exchange.finish(reason="reset")
            raise
        self.exchange.finish()

    def close(self) -> None:
        if not self.exchange.finished:
            self.exchange.finish(by="client", reason="client_disconnect")
        self.stream.close()


class RecordingTransport(httpx.BaseTransport):
    """The synchronous twin of ``AsyncRecordingTransport``."""

    def __init__(self, transport: httpx.BaseTransport | None = None, *, recorder: Recorder) -> None:
        self.transport = transport or httpx.HTTPTransport()
        self.recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        exchange = _start(self.recorder, request)
        stream = request.stream
        if isinstance(stream, httpx.SyncByteStream):
            request.stream = _RequestTap(stream, exchange)
        try:
            response = self.transport.handle_request(request)
        except BaseException as exc:
            exchange.failed(exc)
            raise
        finally:
            request.stream = stream
        _head(exchange, response)
        assert isinstance(response.stream, httpx.SyncByteStream)
        return httpx.Response(
            response.status_code,
            headers=response.headers,
            stream=_AnswerTap(response.stream, exchange),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self.transport.close()
