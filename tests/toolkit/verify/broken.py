"""Servers wrong in exactly one way: ASGI wrappers around the emulator, each altering one thing of its answers.

Each wrapper passes everything through except the one thing it breaks, so a verify run against it must fail that
one check and no other. JSON answers are altered after the emulator made them (whole, with Content-Length
fixed); ``/run_sse`` streams chunk by chunk, as they are sent.
"""

from __future__ import annotations

import json
import re
import typing

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nemo_contract.protocol import ATTRIBUTION_HEADERS, HTTP_STATUS, ME, PATHS, Code, Header, RenderStatus
from nemo_contract.protocol import fields as f
from nemo_contract.protocol.shapes import dumps

__all__ = ["BROKEN", "Broken"]

JSON = typing.Any


def _header(scope: Scope, name: str) -> bytes | None:
    wanted = name.lower().encode()
    return next((value for key, value in scope["headers"] if key == wanted), None)


def _with_header(scope: Scope, name: str, value: bytes | None) -> Scope:
    wanted = name.lower().encode()
    headers = [(key, v) for key, v in scope["headers"] if key != wanted]
    return {**scope, "headers": headers + ([(wanted, value)] if value is not None else [])}


class Broken:
    """The emulator app, with one thing broken. Subclasses override ``request`` (the scope going in),
    ``answer`` (a JSON answer: status, headers, parsed body) or ``chunk`` (a piece of a stream)."""

    #: The verify check this server must fail, alone, and words its first evidence says.
    breaks = ""
    shows = ""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def request(self, scope: Scope) -> Scope:
        return scope

    def answer(self, scope: Scope, status: int, headers: list[tuple[bytes, bytes]], body: JSON) -> tuple[int, JSON]:
        return status, body

    def chunk(self, scope: Scope, data: bytes, last: bool) -> bytes:
        return data

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = self.request(scope)
        start: Message | None = None
        held: list[bytes] = []

        async def altered(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                kind = dict(message.get("headers", [])).get(b"content-type", b"")
                if b"json" not in kind:
                    await send(message)  # a stream or a file: its body is altered as it goes
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            last = not message.get("more_body", False)
            kind = dict(start.get("headers", [])).get(b"content-type", b"")
            if b"json" not in kind:
                await send({**message, "body": self.chunk(scope, message.get("body", b""), last)})
                return
            held.append(message.get("body", b""))
            if last:
                await self._send_json(scope, start, b"".join(held), send)

        await self.app(scope, receive, altered)

    async def _send_json(self, scope: Scope, start: Message, raw: bytes, send: Send) -> None:
        headers = [(k, v) for k, v in start.get("headers", []) if k != b"content-length"]
        status, body = self.answer(scope, start["status"], headers, json.loads(raw))
        data = dumps(body)
        headers.append((b"content-length", str(len(data)).encode()))
        await send({**start, "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": data, "more_body": False})


class NoRetryAfter(Broken):
    """429 answers without their Retry-After header."""

    breaks = "retry_after"
    shows = "a 429 without Retry-After"

    def answer(self, scope: Scope, status: int, headers: list[tuple[bytes, bytes]], body: JSON) -> tuple[int, JSON]:
        headers[:] = [(k, v) for k, v in headers if k != Header.RETRY_AFTER.lower().encode()]
        return status, body


class Ok1001(Broken):
    """Under status_mode=http, code 1001 sent with HTTP 200 (every other error keeps its status)."""

    breaks = "envelope_status"
    shows = "code 1001 came with HTTP 200"

    def answer(self, scope: Scope, status: int, headers: list[tuple[bytes, bytes]], body: JSON) -> tuple[int, JSON]:
        if isinstance(body, dict) and body.get(f.CODE) == Code.TOKEN_INVALID:
            return HTTP_STATUS[Code.SUCCESS], body
        return status, body


class BrokenStream(Broken):
    """A server that alters /run_sse alone, chunk by chunk: ``stream`` says what to send now and what to keep back
    until the same stream's next chunk (nothing is kept after its last)."""

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self._kept: dict[int, bytes] = {}

    def chunk(self, scope: Scope, data: bytes, last: bool) -> bytes:
        if scope["path"] != PATHS.run_sse:
            return data
        sent, kept = self.stream(self._kept.pop(id(scope), b""), data, last)
        if not last:
            self._kept[id(scope)] = kept
        return sent

    def stream(self, kept: bytes, data: bytes, last: bool) -> tuple[bytes, bytes]:
        return kept + data, b""


class BufferedStream(BrokenStream):
    """/run_sse holds every event back and sends them all at once when the turn ends."""

    breaks = "sse_streaming"
    shows = "buffered, not streamed"

    def stream(self, kept: bytes, data: bytes, last: bool) -> tuple[bytes, bytes]:
        return (kept + data, b"") if last else (b"", kept + data)


class EventLines(BrokenStream):
    """/run_sse names every event with an `event:` line."""

    breaks = "sse_frames"
    shows = "a field `event:`"

    def stream(self, kept: bytes, data: bytes, last: bool) -> tuple[bytes, bytes]:
        return re.sub(rb"(?m)^data:", b"event: message\ndata:", kept + data), b""


class OddHeartbeats(Broken):
    """/run_sse heartbeats as `: keepalive` comments, a form none of the documented three."""

    breaks = "sse_heartbeats"
    shows = "none of the three forms"

    def chunk(self, scope: Scope, data: bytes, last: bool) -> bytes:
        return b": keepalive\n\n" if data == b"data:\n\n" else data


class CutLastEvent(BrokenStream):
    """/run_sse ends without the blank line that closes its last event."""

    breaks = "sse_close"
    shows = "in the middle of an event"

    def stream(self, kept: bytes, data: bytes, last: bool) -> tuple[bytes, bytes]:
        if not last:  # one chunk behind, to know which was the last event
            return kept, data
        return (kept + data.removesuffix(b"\n\n") if data.strip() else kept.removesuffix(b"\n\n") + data), b""


class UserIdRenamed(Broken):
    """The token answer spells `user_id` as `userId` (a camelCase field, as ADK's own JSON has)."""

    breaks = "response_schema_conformance"
    shows = "user_id"

    def answer(self, scope: Scope, status: int, headers: list[tuple[bytes, bytes]], body: JSON) -> tuple[int, JSON]:
        data = body.get(f.DATA) if isinstance(body, dict) else None
        if scope["path"] == PATHS.anonymous_token and isinstance(data, dict) and f.USER_ID in data:
            data["userId"] = data.pop(f.USER_ID)
        return status, body


class RenderBackwards(Broken):
    """A render polled again after it ended is reported as processing, once."""

    breaks = "render_progress"
    shows = "went from completed to processing"

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self._ended: set[str] = set()
        self._went_back: set[str] = set()

    def answer(self, scope: Scope, status: int, headers: list[tuple[bytes, bytes]], body: JSON) -> tuple[int, JSON]:
        path = scope["path"]
        if scope["method"] != "GET" or not path.startswith(PATHS.render_start + "/"):
            return status, body
        inner = body.get(f.DATA) if isinstance(body, dict) and f.SUCCESS in body else body
        if not isinstance(inner, dict) or inner.get(f.STATUS) not in (RenderStatus.COMPLETED, RenderStatus.FAILED):
            return status, body
        if path in self._ended and path not in self._went_back:
            self._went_back.add(path)
            inner[f.STATUS] = RenderStatus.PROCESSING.value
        self._ended.add(path)
        return status, body


class SessionsReadable(Broken):
    """Any token reads any session's state: the state request goes in with the session owner's token."""

    breaks = "cross_user"
    shows = "another user read the state"

    def __init__(self, app: ASGIApp) -> None:
        super().__init__(app)
        self._owners: dict[str, bytes] = {}

    def request(self, scope: Scope) -> Scope:
        parts = scope["path"].split("/")  # /api/state/nemo_agent/{user}/{session_id}/latest
        if scope["path"].startswith("/api/state/") and len(parts) == 7 and parts[5] in self._owners:
            parts[4] = ME
            return {**_with_header(scope, Header.AUTHORIZATION, self._owners[parts[5]]), "path": "/".join(parts)}
        return scope

    def answer(self, scope: Scope, status: int, headers: list[tuple[bytes, bytes]], body: JSON) -> tuple[int, JSON]:
        data = body.get(f.DATA) if isinstance(body, dict) else None
        token = _header(scope, Header.AUTHORIZATION)
        if "/with-session/" in scope["path"] and isinstance(data, dict) and token is not None:
            self._owners[str(data.get(f.SESSION_ID))] = token
        return status, body


class TokenOptional(Broken):
    """The credit balance is answered without any token."""

    breaks = "token_required"
    shows = "a request with no token"

    def request(self, scope: Scope) -> Scope:
        if scope["path"] == PATHS.credits and _header(scope, Header.AUTHORIZATION) is None:
            return {**scope, "path": "/__verify_broken__/credits"}
        return scope

    def answer(self, scope: Scope, status: int, headers: list[tuple[bytes, bytes]], body: JSON) -> tuple[int, JSON]:
        if scope["path"] == "/__verify_broken__/credits":
            return HTTP_STATUS[Code.SUCCESS], {f.CODE: 0, f.MESSAGE: "success", f.DATA: {f.AVAILABLE: 100, f.FROZEN: 0}}
        return status, body


class AttributionIgnored(Broken):
    """A render start missing attribution headers is given them, and so accepted."""

    breaks = "render_attribution"
    shows = "a render start without X-Skill-"

    def request(self, scope: Scope) -> Scope:
        if scope["path"] == PATHS.render_start:
            for name in ATTRIBUTION_HEADERS:
                if not _header(scope, name):
                    scope = _with_header(scope, name, b"filled-in")
        return scope


BROKEN: typing.Final[tuple[type[Broken], ...]] = (
    NoRetryAfter,
    Ok1001,
    BufferedStream,
    EventLines,
    OddHeartbeats,
    CutLastEvent,
    UserIdRenamed,
    RenderBackwards,
    SessionsReadable,
    TokenOptional,
    AttributionIgnored,
)
