"""httpx transports that record every exchange that passes through them, around any other transport.

    recorder = Recorder("session.jsonl")
    async with httpx.AsyncClient(transport=AsyncRecordingTransport(recorder=recorder)) as http: ...
    recorder.close()

The request body is summed up as the wrapped transport reads it; the answer's body as the client reads it, so a
stream's events are recorded one by one when the client gets them and nothing is buffered on the way. An answer the
client stops reading ends as ``client_disconnect``; one whose connection fails mid-way as ``reset``.
"""

from __future__ import annotations

import contextlib
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


@contextlib.contextmanager
def _sending(
    exchange: ExchangeRecorder, request: httpx.Request, tap: httpx.SyncByteStream | httpx.AsyncByteStream | None
) -> typing.Iterator[None]:
    """While the wrapped transport sends ``request``: its body read through ``tap`` (if any), a failure recorded,
    and the request's own stream put back after."""
    stream = request.stream
    if tap is not None:
        request.stream = tap
    try:
        yield
    except BaseException as exc:
        exchange.failed(exc)
        raise
    finally:
        request.stream = stream


@contextlib.contextmanager
def _reading(exchange: ExchangeRecorder) -> typing.Iterator[None]:
    """While the client reads the answer's body: how it ends (``eof``, or ``reset`` if the connection fails)."""
    try:
        yield
    except httpx.TransportError:
        exchange.finish(reason="reset")
        raise
    exchange.finish()


_Stream = typing.TypeVar("_Stream", httpx.SyncByteStream, httpx.AsyncByteStream)


class _Tap(typing.Generic[_Stream]):
    """What the four taps share: the stream they pass on, the exchange they record into, and (for the answer
    taps) what the client closing early means."""

    def __init__(self, stream: _Stream, exchange: ExchangeRecorder) -> None:
        self.stream: _Stream = stream
        self.exchange = exchange

    def closing(self) -> None:
        """The client closes the answer: unless it was read to its end, that is a ``client_disconnect``."""
        if not self.exchange.finished:
            self.exchange.finish(by="client", reason="client_disconnect")


def _answer(
    exchange: ExchangeRecorder, response: httpx.Response, tap: httpx.SyncByteStream | httpx.AsyncByteStream
) -> httpx.Response:
    """``response`` as the client gets it: its head recorded now, its body through ``tap`` as the client reads it."""
    headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in response.headers.raw]
    exchange.response(response.status_code, headers)
    return httpx.Response(response.status_code, headers=response.headers, stream=tap, extensions=response.extensions)


class _AsyncRequestTap(_Tap[httpx.AsyncByteStream], httpx.AsyncByteStream):
    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        async for chunk in self.stream:
            self.exchange.request_chunk(chunk)
            yield chunk


class _AsyncAnswerTap(_Tap[httpx.AsyncByteStream], httpx.AsyncByteStream):
    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        with _reading(self.exchange):
            async for chunk in self.stream:
                self.exchange.chunk(chunk)
                yield chunk

    async def aclose(self) -> None:
        self.closing()
        await self.stream.aclose()


class AsyncRecordingTransport(httpx.AsyncBaseTransport):
    """Records through ``recorder`` every exchange of the wrapped transport (default: httpx's own)."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None = None, *, recorder: Recorder) -> None:
        self.transport = transport or httpx.AsyncHTTPTransport()
        self.recorder = recorder

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        exchange = _start(self.recorder, request)
        body = request.stream
        tap = _AsyncRequestTap(body, exchange) if isinstance(body, httpx.AsyncByteStream) else None
        with _sending(exchange, request, tap):
            response = await self.transport.handle_async_request(request)
        assert isinstance(response.stream, httpx.AsyncByteStream)
        return _answer(exchange, response, _AsyncAnswerTap(response.stream, exchange))

    async def aclose(self) -> None:
        await self.transport.aclose()


class _RequestTap(_Tap[httpx.SyncByteStream], httpx.SyncByteStream):
    def __iter__(self) -> typing.Iterator[bytes]:
        for chunk in self.stream:
            self.exchange.request_chunk(chunk)
            yield chunk


class _AnswerTap(_Tap[httpx.SyncByteStream], httpx.SyncByteStream):
    def __iter__(self) -> typing.Iterator[bytes]:
        with _reading(self.exchange):
            for chunk in self.stream:
                self.exchange.chunk(chunk)
                yield chunk

    def close(self) -> None:
        self.closing()
        self.stream.close()


class RecordingTransport(httpx.BaseTransport):
    """The synchronous twin of ``AsyncRecordingTransport``."""

    def __init__(self, transport: httpx.BaseTransport | None = None, *, recorder: Recorder) -> None:
        self.transport = transport or httpx.HTTPTransport()
        self.recorder = recorder

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        exchange = _start(self.recorder, request)
        body = request.stream
        tap = _RequestTap(body, exchange) if isinstance(body, httpx.SyncByteStream) else None
        with _sending(exchange, request, tap):
            response = self.transport.handle_request(request)
        assert isinstance(response.stream, httpx.SyncByteStream)
        return _answer(exchange, response, _AnswerTap(response.stream, exchange))

    def close(self) -> None:
        self.transport.close()
