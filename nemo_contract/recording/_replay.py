"""Serving a cassette again: the answer one match gets (``Plan``), as an ASGI app (``nemo-mock replay``) and as httpx
transports (in-process, for tests).

Each answer keeps its recorded pace: the head comes the recorded time after the request, each event at its
recorded offset, and the stream ends the way it did, all divided by ``speed`` (``math.inf``, spelled ``instant``:
no waits, the same order). A normal end closes the stream; a connection that broke breaks again (the ASGI app
drops the connection, the transports raise httpx's ``RemoteProtocolError``); a stream the client left, or that the
recording stopped during, is held open until the client leaves (or its read timeout passes, for the transports).

Answers say the new run's things back to it: the recorded target's origin becomes the address the request came
to, and ids the new run minted become its own (``_match.IdMap``). A binary body whose bytes were not kept is served
as a stand-in of the recorded size.

A miss is answered with status 599 (no NemoVideo answer uses it), ``X-Nemo-Replay: miss`` and a
``application/problem+json`` body naming the nearest recorded request and what differed; in-process it raises
``CassetteMiss``, an ``AssertionError``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import math
import time
import typing

import anyio
import anyio.lowlevel
import httpx

from ..protocol.shapes import dumps
from ._body import header, media_type
from ._cassette import Body, Cassette, Exchange
from ._errors import CassetteMiss
from ._match import Live, Match, Matcher, Miss, Tail
from ._recorder import origin_of
from ._sse import frame_bytes

__all__ = [
    "MISS_STATUS",
    "AsyncReplayTransport",
    "Plan",
    "ReplayApp",
    "ReplayTransport",
    "miss_body",
    "parse_speed",
    "plan",
    "speed_text",
]

MISS_STATUS = 599
#: Request bodies up to this size are read as JSON for matching.
_JSON_LIMIT = 1024 * 1024
_DROPPED = frozenset({"content-length", "transfer-encoding", "content-encoding", "connection", "keep-alive"})

Scope = typing.MutableMapping[str, typing.Any]
Message = typing.MutableMapping[str, typing.Any]
Receive = typing.Callable[[], typing.Awaitable[Message]]
Send = typing.Callable[[Message], typing.Awaitable[None]]


def parse_speed(text: str | float) -> float:
    """``1`` (as recorded), ``N`` (N times faster), ``instant`` (no waits: ``math.inf``)."""
    if isinstance(text, int | float):
        value = float(text)
    elif text.strip().lower() == "instant":
        return math.inf
    else:
        try:
            value = float(text.strip().lower().removesuffix("x"))
        except ValueError:
            raise ValueError(f"a speed is 1, a number greater than 0, or instant; not {text!r}") from None
    if not value > 0 or math.isnan(value):
        raise ValueError(f"a speed is 1, a number greater than 0, or instant; not {text!r}")
    return value


def speed_text(speed: float) -> str:
    return "instant" if math.isinf(speed) else f"{speed:g}x"


@dataclasses.dataclass(slots=True)
class Plan:
    """What one answer is and when each part of it goes, in seconds after the request (at speed 1)."""

    status: int | None
    headers: list[tuple[str, str]]
    body: bytes | None
    frames: list[tuple[float, bytes]]
    head_after: float
    end: str  # "eof" | "reset" | "hold"
    end_after: float
    error: str | None = None

    @property
    def is_stream(self) -> bool:
        return self.body is None and self.error is None


def _body_bytes(body: Body | None) -> bytes:
    if body is None:
        return b""
    if body.is_json:
        return dumps(body.json)
    if body.text is not None:
        return body.text.encode()
    if body.b64 is not None:
        return base64.b64decode(body.b64)
    return bytes(body.size)  # a stand-in of the recorded size


def plan(match: Match, *, target: str | None, origin: str) -> Plan:
    """The answer of one match, with the recorded origin and the ids rewritten the new run's way."""
    exchange = match.exchange
    request, response = exchange.request, exchange.response
    assert response is not None
    rewrites = [(target, origin)] if target and target != origin else []
    rewrites += [pair for pair in match.rewrites if pair[0] != pair[1]]

    def say(text: str) -> str:
        for recorded, live in rewrites:
            text = text.replace(recorded, live)
        return text

    start = request.at
    head_after = max(0, response.at - start) / 1000
    headers = [(name, say(value)) for name, value in response.headers if name.lower() not in _DROPPED]
    if response.error is not None:
        return Plan(None, [], None, [], head_after, "eof", head_after, error=response.error)
    if response.stream is None:
        raw = _body_bytes(response.body)
        if response.body is not None and (response.body.is_json or response.body.text is not None) and rewrites:
            raw = say(raw.decode()).encode()
        return Plan(response.status, headers, raw, [], head_after, "eof", head_after)
    frames = []
    for event in exchange.events:
        if event.raw is not None:
            text = event.raw
        else:
            written = frame_bytes(event.data, event=event.event, id=event.id, retry=event.retry, comment=event.comment)
            text = written.decode()
        frames.append((max(0, event.at - start) / 1000, say(text).encode()))
    end = exchange.end
    if end is None:
        how, end_after = "hold", frames[-1][0] if frames else head_after
    else:
        how = {"eof": "eof", "reset": "reset"}.get(end.reason, "hold")
        end_after = max(0, end.at - start) / 1000
        if end.rest:
            frames.append((end_after, say(end.rest).encode()))
    return Plan(response.status, headers, None, frames, head_after, how, end_after)


def miss_body(miss: Miss) -> bytes:
    problem = dict(
        type="urn:nemo-contract:replay-miss",
        title="no recorded answer",
        status=MISS_STATUS,
        detail=miss.message,
        request=miss.request,
        kind=str(miss.key),
        nearest=miss.nearest,
        differences=list(miss.diff),
    )
    return json.dumps(problem, ensure_ascii=False).encode()


def _live(method: str, path: str, headers: typing.Sequence[tuple[str, str]], body: bytes) -> Live:
    parsed = None
    kind = media_type(header(headers, "content-type"))
    if body and len(body) <= _JSON_LIMIT and (kind == "application/json" or kind.endswith("+json")):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
    return Live(method.upper(), path, parsed)


# -- the ASGI app ---------------------------------------------------------------------------------------------------


class ReplayApp:
    """``nemo-mock replay``'s app: serves ``cassette`` to any client. ``on_miss`` hears of every miss."""

    def __init__(
        self,
        cassette: Cassette,
        *,
        speed: float = 1.0,
        tail: Tail | str = Tail.ERROR,
        on_miss: typing.Callable[[Miss], object] | None = None,
    ) -> None:
        self.cassette = cassette
        self.speed = speed
        self.matcher = Matcher(cassette, tail=tail)
        self.on_miss = on_miss

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        elif scope["type"] == "http":
            await self._serve(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        arrived = anyio.current_time()
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]
        chunks = []
        size = 0
        while True:
            message = await receive()
            chunk = message.get("body", b"")
            size += len(chunk)
            if size <= _JSON_LIMIT:
                chunks.append(chunk)
            if message["type"] != "http.request" or not message.get("more_body", False):
                break
        found = self.matcher.match(_live(scope["method"], scope["path"], headers, b"".join(chunks)))
        if isinstance(found, Miss):
            if self.on_miss is not None:
                self.on_miss(found)
            body = miss_body(found)
            head = [(b"content-type", b"application/problem+json"), (b"x-nemo-replay", b"miss")]
            head.append((b"content-length", str(len(body)).encode()))
            await send({"type": "http.response.start", "status": MISS_STATUS, "headers": head})
            await send({"type": "http.response.body", "body": body})
            return
        origin = f"{scope.get('scheme', 'http')}://{header(headers, 'host') or 'localhost'}"
        answer = plan(found, target=self.cassette.meta.target, origin=origin)
        await _until(arrived + answer.head_after / self.speed)
        if answer.error is not None:
            body = f"recorded: no answer ({answer.error})".encode()
            head = [(b"content-type", b"text/plain; charset=utf-8"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 502, "headers": head})
            await send({"type": "http.response.body", "body": body})
            return
        raw = [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers]
        if answer.body is not None:
            raw.append((b"content-length", str(len(answer.body)).encode()))
            await send({"type": "http.response.start", "status": answer.status, "headers": raw})
            await send({"type": "http.response.body", "body": answer.body})
            return
        await send({"type": "http.response.start", "status": answer.status, "headers": raw})
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                while (await receive())["type"] != "http.disconnect":
                    pass
                group.cancel_scope.cancel()

            group.start_soon(watch)
            for after, frame in answer.frames:
                await _until(arrived + after / self.speed)
                await send({"type": "http.response.body", "body": frame, "more_body": True})
            await _until(arrived + answer.end_after / self.speed)
            if answer.end == "eof":
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            elif answer.end == "hold":
                await anyio.sleep_forever()
            group.cancel_scope.cancel()  # "reset": return without the last chunk, which drops the connection


async def _until(deadline: float) -> None:
    if math.isinf(deadline) or math.isnan(deadline):
        await anyio.lowlevel.checkpoint()
        return
    await anyio.sleep(max(0.0, deadline - anyio.current_time()))


# -- the transports -------------------------------------------------------------------------------------------------


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout", {})
    value = timeout.get("read") if isinstance(timeout, dict) else None
    return value if isinstance(value, int | float) else None


_RESET = "peer closed connection without sending complete message body (incomplete chunked read)"


class _AsyncAnswer(httpx.AsyncByteStream):
    def __init__(self, answer: Plan, arrived: float, speed: float, request: httpx.Request) -> None:
        self.answer, self.arrived, self.speed, self.request = answer, arrived, speed, request

    async def __aiter__(self) -> typing.AsyncIterator[bytes]:
        answer = self.answer
        if answer.body is not None:
            yield answer.body
            return
        for after, frame in answer.frames:
            await _until(self.arrived + after / self.speed)
            yield frame
        await _until(self.arrived + answer.end_after / self.speed)
        if answer.end == "reset":
            raise httpx.RemoteProtocolError(_RESET, request=self.request)
        if answer.end == "hold":
            wait = _read_timeout(self.request)
            if wait is None:
                await anyio.sleep_forever()
            await anyio.sleep(wait or 0.0)
            raise httpx.ReadTimeout("the recorded stream stayed open past the read timeout", request=self.request)


class _Answer(httpx.SyncByteStream):
    def __init__(self, answer: Plan, arrived: float, speed: float, request: httpx.Request) -> None:
        self.answer, self.arrived, self.speed, self.request = answer, arrived, speed, request

    def __iter__(self) -> typing.Iterator[bytes]:
        answer = self.answer
        if answer.body is not None:
            yield answer.body
            return
        for after, frame in answer.frames:
            _sleep_until(self.arrived + after / self.speed)
            yield frame
        _sleep_until(self.arrived + answer.end_after / self.speed)
        if answer.end == "reset":
            raise httpx.RemoteProtocolError(_RESET, request=self.request)
        if answer.end == "hold":
            wait = _read_timeout(self.request)
            time.sleep(wait if wait is not None else 1e9)
            raise httpx.ReadTimeout("the recorded stream stayed open past the read timeout", request=self.request)


def _sleep_until(deadline: float) -> None:
    if not math.isinf(deadline):
        time.sleep(max(0.0, deadline - time.monotonic()))


class _Replaying:
    """What both transports share: their constructor (``AsyncReplayTransport`` says what its settings mean), the
    matcher, and the answer of a request (a miss raises ``CassetteMiss``)."""

    def __init__(
        self,
        cassette: Cassette,
        *,
        speed: float = math.inf,
        tail: Tail | str = Tail.ERROR,
        matcher: Matcher | None = None,
    ) -> None:
        self.cassette = cassette
        self.speed = speed
        self.matcher = matcher or Matcher(cassette, tail=tail)

    def answer(self, request: httpx.Request, body: bytes) -> Plan:
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw]
        found = self.matcher.match(_live(request.method, request.url.path, headers, body))
        if isinstance(found, Miss):
            raise CassetteMiss(found.message, diff=list(found.diff))
        answer = plan(found, target=self.cassette.meta.target, origin=origin_of(str(request.url)))
        if answer.error is not None:
            raise httpx.ConnectError(f"recorded: no answer ({answer.error})", request=request)
        return answer

    def unused(self) -> list[Exchange]:
        return self.matcher.unused()


class AsyncReplayTransport(httpx.AsyncBaseTransport, _Replaying):
    """Answers from a cassette, in-process: ``httpx.AsyncClient(transport=AsyncReplayTransport(load(path)))``.

    ``speed``: 1 as recorded, N times faster, ``math.inf`` for no waits (``parse_speed`` reads ``"instant"``);
    ``tail``: ``"error"`` or ``"repeat-last"``. Nothing reaches the network.
    """

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        arrived = anyio.current_time()
        answer = self.answer(request, await request.aread())
        await _until(arrived + answer.head_after / self.speed)
        stream = _AsyncAnswer(answer, arrived, self.speed, request)
        return httpx.Response(answer.status or 502, headers=answer.headers, stream=stream)


class ReplayTransport(httpx.BaseTransport, _Replaying):
    """The synchronous twin of ``AsyncReplayTransport``."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        arrived = time.monotonic()
        answer = self.answer(request, request.read())
        _sleep_until(arrived + answer.head_after / self.speed)
        stream = _Answer(answer, arrived, self.speed, request)
        return httpx.Response(answer.status or 502, headers=answer.headers, stream=stream)
