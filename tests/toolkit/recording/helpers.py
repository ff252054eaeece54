"""Small cassettes built by hand for the recording tests, a recorded client of the emulator, and a live server for
an ASGI app."""

from __future__ import annotations

import contextlib
import pathlib
import threading
import time
import typing

import httpx
import uvicorn

from nemo_contract.protocol import fields as f
from nemo_contract.recording import (
    AsyncRecordingTransport,
    Body,
    Cassette,
    End,
    Event,
    Meta,
    Recorder,
    Request,
    Response,
)
from nemo_contract.testing import Emulated, StreamingASGITransport

__all__ = ["ORIGIN", "build", "envelope", "json_body", "live_app", "poll", "recorded_client", "stream", "write"]

ORIGIN = "http://recorded.test"
JSON = typing.Any


def json_body(value: JSON) -> Body:
    return Body(size=len(str(value)), type="application/json", json=value)


def envelope(data: JSON) -> Body:
    return json_body({f.CODE: 0, f.MESSAGE: "success", f.DATA: data})


def poll(x: int, at: int, render: str, status: str, progress: int) -> list[Request | Response]:
    """A render poll and its top-level answer."""
    answer = {f.CODE: 0, f.ID: render, f.STATUS: status, f.PROGRESS: progress}
    path = f"/api/render/proxy/lambda/{render}"
    return [
        Request(x=x, at=at, method="GET", path=path, op="getRender"),
        Response(x=x, at=at + 5, status=200, headers=(("content-type", "application/json"),), body=json_body(answer)),
    ]


def stream(
    x: int, at: int, session: str, text: str, events: list[tuple[int, str | None]], *, reason: str = "eof"
) -> list[Request | Response | Event | End]:
    """A turn: its request, a stream answer, events (offset, data; None for a comment) and its end."""
    body = {f.APP: "nemo_agent", f.USER_ID: "me", f.SESSION_ID: session, f.NEW_MESSAGE: {f.PARTS: [{f.TEXT: text}]}}
    records: list[Request | Response | Event | End] = [
        Request(x=x, at=at, method="POST", path="/run_sse", op="runSse", body=json_body(body)),
        Response(x=x, at=at + 1, status=200, headers=(("content-type", "text/event-stream"),), stream="sse"),
    ]
    for n, (offset, data) in enumerate(events):
        if data is None:
            records.append(Event(x=x, at=at + offset, n=n, comment="ping"))
        else:
            records.append(Event(x=x, at=at + offset, n=n, data=data))
    last = at + max((offset for offset, _ in events), default=1)
    records.append(End(x=x, at=last, by="server", reason=reason, events=len(events)))
    return records


def build(*records: typing.Any, target: str = ORIGIN) -> Cassette:
    meta = Meta(v=1, recorded_at="2026-03-13T00:00:00.000Z", recorder="tests", target=target)
    flat: list[typing.Any] = []
    for record in records:
        flat += record if isinstance(record, list) else [record]
    return Cassette(meta=meta, records=flat)


def write(path: pathlib.Path, cassette: Cassette) -> pathlib.Path:
    path.write_text(cassette.dumps(), encoding="utf-8")
    return path


@contextlib.asynccontextmanager
async def recorded_client(
    emulated: Emulated, path: pathlib.Path, **recording: typing.Any
) -> typing.AsyncIterator[httpx.AsyncClient]:
    """An ``httpx.AsyncClient`` on the emulator, with the headers its own clients send, whose exchanges a
    ``Recorder`` (``recording``: its options) writes to ``path`` on the emulator's clock; closed with the client."""
    recorder = Recorder(path, target=emulated.base_url, clock=emulated.emulator.clock.now, **recording)
    transport = AsyncRecordingTransport(StreamingASGITransport(emulated.app), recorder=recorder)
    try:
        async with (
            emulated.async_client() as plain,
            httpx.AsyncClient(transport=transport, base_url=emulated.base_url, headers=dict(plain.headers)) as http,
        ):
            yield http
    finally:
        recorder.close()


@contextlib.contextmanager
def live_app(app: typing.Any) -> typing.Iterator[str]:
    """An ASGI app under a real uvicorn on a free loopback port, in a thread; yields its base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="critical", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the app did not start")
        time.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


class StreamApp:
    """An ASGI app whose ``/run_sse`` sends ``first``, waits for ``gate`` (a ``threading.Event`` the test sets),
    then sends ``rest`` and ends as ``ending`` says: ``eof``, ``raise`` (the app fails mid-stream) or ``drop``
    (it returns without the last chunk, which under uvicorn drops the connection). Any other path answers JSON
    that points at the app's own address."""

    def __init__(self, first: list[bytes], rest: list[bytes], *, ending: str = "eof") -> None:
        self.first, self.rest, self.ending = first, rest, ending
        self.gate = threading.Event()

    async def __call__(self, scope: dict[str, typing.Any], receive: typing.Any, send: typing.Any) -> None:
        if scope["type"] == "lifespan":
            while (await receive())["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
            await send({"type": "lifespan.shutdown.complete"})
            return
        while (await receive()).get("more_body"):
            pass
        if scope["path"] != "/run_sse":
            host = dict(scope["headers"]).get(b"host", b"").decode()
            body = f'{{"code":0,"data":{{"cdn_url":"http://{host}/cdn/x.mp4"}}}}'.encode()
            head = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            await send({"type": "http.response.start", "status": 200, "headers": head})
            await send({"type": "http.response.body", "body": body})
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
        for frame in self.first:
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        import anyio

        # The gate is set from another thread (the test's, when the app runs under uvicorn), so it is polled: a
        # worker thread blocked on it could not be cancelled when the client leaves first.
        while not self.gate.is_set():  # noqa: ASYNC110
            await anyio.sleep(0.002)
        for frame in self.rest:
            await send({"type": "http.response.body", "body": frame, "more_body": True})
        if self.ending == "raise":
            raise RuntimeError("the upstream broke")
        if self.ending == "eof":
            await send({"type": "http.response.body", "body": b"", "more_body": False})
