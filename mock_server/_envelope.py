"""Responses in the protocol's envelope (compact JSON, statuses per the ``status_mode`` knob), and reading JSON
request bodies strictly.

Every JSON answer is an ``EnvelopeResponse``, which notes its envelope code in the request's journal entry as it
is sent: the code is recorded where the answer is made, never read back from the bytes.
"""

from __future__ import annotations

import json
import math
import typing

import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from nemo_contract.protocol import HTTP_STATUS, Code, StatusMode, shapes

from ._errors import ProtocolError
from ._journal import ENTRY_KEY, Entry

__all__ = [
    "MAX_JSON_BYTES",
    "PARSE_IN_THREAD_BYTES",
    "EnvelopeResponse",
    "bug_response",
    "dumps",
    "error_response",
    "loads",
    "ok",
    "ok_body",
    "read_json",
]

dumps = shapes.dumps


#: Deeper bodies are refused: nothing in the protocol nests past a dozen levels.
MAX_DEPTH = 64


def _no_constant(name: str) -> typing.NoReturn:
    raise ValueError(f"{name} is not JSON")


def _finite(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e999: valid JSON grammar, but no number the emulator could answer with
        raise ValueError(f"{text} is out of range")
    return value


def _check(value: typing.Any) -> None:
    """Refuse what JSON allows but the emulator could not store or send back: deep nesting, lone surrogates."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("a string holds an unpaired surrogate") from None
            continue
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                raise ValueError(f"nested deeper than {MAX_DEPTH} levels")
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)


#: JSON request bodies larger than this are refused (a draft of thousands of segments is well under it).
MAX_JSON_BYTES = 8 * 1024 * 1024


#: Bodies at least this large are parsed, and checked, in a worker thread: a large draft takes seconds to
#: validate, and the event loop must go on serving others meanwhile (bench/RESULTS.md, section 6). Below it the
#: thread hop would cost more than the work.
PARSE_IN_THREAD_BYTES = 8 * 1024


async def read_json(request: Request, check: typing.Callable[[typing.Any], None] | None = None) -> typing.Any:
    """The request's JSON body, never more than MAX_JSON_BYTES in memory: judged from Content-Length when
    given, else while reading. ``check`` (a schema check, say) runs on the parsed body where the parsing did."""
    too_large = ProtocolError(Code.BAD_REQUEST, f"request body too large (over {MAX_JSON_BYTES} bytes of JSON)")
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_JSON_BYTES:
        raise too_large
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_JSON_BYTES:
            raise too_large
        chunks.append(chunk)
    raw = b"".join(chunks)

    def parse() -> typing.Any:
        value = loads(raw)
        if check is not None:
            check(value)
        return value

    return parse() if len(raw) < PARSE_IN_THREAD_BYTES else await anyio.to_thread.run_sync(parse)


def loads(raw: bytes) -> typing.Any:
    """A request body as JSON, strictly (no NaN, no infinities, no lone surrogates); a 400 envelope if not."""
    try:
        value = json.loads(raw, parse_constant=_no_constant, parse_float=_finite)
        _check(value)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        detail = str(exc) if isinstance(exc, ValueError) and not isinstance(exc, json.JSONDecodeError) else ""
        message = "request body is not valid JSON" + (f": {detail}" if detail and len(detail) < 80 else "")
        raise ProtocolError(Code.BAD_REQUEST, message) from None
    return value


_SUCCESS = int(Code.SUCCESS)
_JSON = "application/json"
_JSON_CONTENT_TYPE = (b"content-type", _JSON.encode("latin-1"))


class EnvelopeResponse(Response):
    """A JSON answer whose envelope ``code`` is known where it is made (None for JSON without one).

    Nearly every answer is one, so it does the work of Starlette's ``Response`` for its one case (bytes already
    encoded, JSON, plain HTTP) in one step each: the head is built at once (Starlette renders the content, then
    merges headers), and one coroutine notes the code in the journal and sends (Starlette's also checks for a
    websocket and a background task). Instructions per credits request: ``python -m bench.instructions``.
    """

    media_type = _JSON

    def __init__(
        self, body: bytes, *, code: int | None, status: int = 200, headers: typing.Mapping[str, str] | None = None
    ) -> None:
        self.code = code
        if headers:  # an error's extra headers (Retry-After, Allow): Starlette merges them
            super().__init__(body, status_code=status, headers=headers)
            return
        self.status_code = status
        self.background = None
        self.body = body
        self.raw_headers = [(b"content-length", str(len(body)).encode("latin-1")), _JSON_CONTENT_TYPE]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        entry: Entry | None = scope.get(ENTRY_KEY)  # entry_of, inlined
        if entry is not None:
            entry.code = self.code
        await send({"type": "http.response.start", "status": self.status_code, "headers": self.raw_headers})
        await send({"type": "http.response.body", "body": self.body})


def ok_body(data: typing.Any) -> bytes:
    """The bytes of ``{"code":0,"message":"success","data":...}``."""
    return dumps(shapes.ok(data))


def ok(data: typing.Any = None, *, body: bytes | None = None) -> EnvelopeResponse:
    """``{"code":0,"message":"success","data":...}`` (``body``: those bytes, already encoded by ``ok_body``)."""
    return EnvelopeResponse(ok_body(data) if body is None else body, code=_SUCCESS)


def error_response(error: ProtocolError, status_mode: StatusMode) -> EnvelopeResponse:
    """``{"code":...,"message":...,"data":...}`` with the code's HTTP status, or 200 under ``always200``."""
    status = HTTP_STATUS.get(error.code, 400) if status_mode is StatusMode.HTTP else 200
    headers = dict(error.headers)
    if error.code is Code.METHOD_NOT_ALLOWED and "allow" not in {k.lower() for k in headers}:
        headers["Allow"] = "GET, POST, PUT"
    body = dumps(shapes.error(error.code, error.message, error.data))
    return EnvelopeResponse(body, code=int(error.code), status=status, headers=headers)


def bug_response() -> EnvelopeResponse:
    """The answer to a bug of ours: still an envelope, code 500."""
    return EnvelopeResponse(dumps(shapes.error(500, "internal error in the emulator")), code=500, status=500)
