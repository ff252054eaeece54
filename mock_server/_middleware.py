"""What happens around every request: the journal, per-request and configured faults, rate limits, and the
500 envelope for a bug of ours."""

from __future__ import annotations

import logging
import math
import typing

from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nemo_contract.protocol import PATHS, Code, Header, register_url
from nemo_contract.protocol import fields as f
from nemo_contract.protocol.control import CONTROL_PREFIX, MOCK_FAULT, StreamEnd

from ._emulator import BEARER_KEY, EMULATOR_KEY, Emulator
from ._envelope import bug_response, error_response
from ._errors import ProtocolError
from ._faults import FAULTS_KEY
from ._journal import ENTRY_KEY, Entry

__all__ = ["EmulatorMiddleware", "fault_error"]

logger = logging.getLogger("nemo_mock")

#: Bodies larger than this are not read for ``body_contains`` matching (uploads stay streamed).
MAX_MATCH_BODY = 1024 * 1024
_MOCK_FAULT = MOCK_FAULT.lower()
_RAW_MOCK_FAULT = _MOCK_FAULT.encode("latin-1")
_RAW_AUTHORIZATION = Header.AUTHORIZATION.value.lower().encode("latin-1")
_FAULT_CODES = sorted(int(c) for c in Code if c is not Code.SUCCESS)
#: A request with either header (other than ``Content-Length: 0``) has a body to count and digest.
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


def _counting(receive: Receive, entry: Entry) -> Receive:
    """``receive`` that notes the size and digest of the request body in the entry as it arrives."""

    async def counted() -> Message:
        message = await receive()
        if message["type"] == "http.request":
            chunk = message.get("body", b"")
            if chunk:
                entry.body_chunk(chunk)
        return message

    return counted


def fault_error(emulator: Emulator, code: int, token_value: str | None) -> ProtocolError:
    """The error the backend answers with ``code``, as it would really send it."""
    token = emulator.store.tokens.get(token_value or "")
    if code == Code.RATE_LIMITED:
        return ProtocolError(Code.RATE_LIMITED, headers={Header.RETRY_AFTER.value: str(emulator.config.retry_after)})
    if code == Code.INSUFFICIENT_CREDITS:
        account = emulator.store.accounts.get(token.user_id) if token else None
        anonymous = account is not None and not account.registered
        return ProtocolError(
            Code.INSUFFICIENT_CREDITS,
            data={f.REGISTER_URL: register_url(account.user_id)} if anonymous and account else None,
        )
    return ProtocolError(Code(code))


def _bearer(authorization: bytes | None) -> str | None:
    """The token of ``Authorization: Bearer <token>``; None without the header, "" if it holds no token."""
    if authorization is None:
        return None
    if authorization[:7].lower() != b"bearer ":
        return ""
    return authorization[7:].strip().decode("latin-1")


class EmulatorMiddleware:
    """Journals every API request and applies faults and rate limits before the handler runs.

    It sits on the path of every request, so the common case (no fault can apply) does the least: one pass
    over the raw headers, a journal entry that keeps them as they are, and a ``send`` that notes the status
    and the envelope's code on the way out. It is the outermost layer and does Starlette's
    ServerErrorMiddleware's job too (see ``_app.py``): its ``send`` already knows whether an answer has started.
    """

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        emulator = scope[EMULATOR_KEY] = self.emulator
        path: str = scope["path"]
        if path.startswith(CONTROL_PREFIX):
            await self._control_plane(scope, receive, send)
            return
        raw_headers: list[tuple[bytes, bytes]] = scope["headers"]
        # The first value of a name counts, as in Starlette's Headers.get (ASGI names are lower-case).
        authorization = fault_requested = None
        has_body = False
        header_bytes = 0
        for name, value in raw_headers:
            header_bytes += len(name) + len(value)
            if name == _RAW_AUTHORIZATION:
                if authorization is None:
                    authorization = value
            elif name == _RAW_MOCK_FAULT:
                if fault_requested is None:
                    fault_requested = value
            elif name in _BODY_HEADERS:
                has_body = has_body or value != b"0"
        token_value = scope[BEARER_KEY] = _bearer(authorization)
        token = emulator.store.tokens.get(token_value) if token_value else None
        entry = scope[ENTRY_KEY] = emulator.journal.record(
            emulator.clock.now(),
            scope["method"],
            path,
            scope.get("query_string", b""),
            raw_headers,
            header_bytes,
            token_value or None,
            emulator.store.token_numbers.get(token_value, 0) if token_value else None,
            token.user_id if token else None,
        )
        if has_body:
            receive = _counting(receive, entry)

        # A plain function handing back send()'s awaitable: one coroutine less per message on the path of every
        # response. A stream's end is noted by the turn, which knows how it ended.
        def journalled_send(message: Message) -> typing.Awaitable[None]:
            if message["type"] == "http.response.body":
                entry.response_size += len(message.get("body", b""))
                if not message.get("more_body", False) and entry.stream is None:
                    entry.finish(StreamEnd.COMPLETE)
            elif message["type"] == "http.response.start":
                entry.started(message["status"], message.get("headers", ()))
            return send(message)

        try:
            # Most requests can meet no fault and no rate limit: they go straight on.
            if fault_requested is not None or emulator.config.rate_limit is not None or emulator.faults.rules:
                headers: dict[str, str] = {}
                for raw_name, raw_value in raw_headers:
                    headers.setdefault(raw_name.decode("latin-1"), raw_value.decode("latin-1"))
                try:
                    error, receive = await self._faults(scope, receive, headers, token_value)
                except ProtocolError as exc:
                    error = exc
                if error is not None:
                    response = error_response(error, emulator.config.status_mode)
                    await response(scope, receive, journalled_send)
                    return
            await self.app(scope, receive, journalled_send)
        except ClientDisconnect:
            # The client went away before its request was complete: nothing to answer, and not a bug of ours.
            logger.debug("client disconnected during %s %s", scope["method"], path)
            entry.finish(StreamEnd.CLIENT_GONE)
        except Exception:
            started = entry.status is not None
            await _answer_bug(scope, receive, journalled_send, started=started)
            if started:  # the answer on the wire is cut short; the connection is dropped
                entry.finish(StreamEnd.CUT, complete=False)
            raise

    async def _control_plane(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The control plane is not journalled; it gets the same 500 envelope for a bug."""
        started = False

        def noting_send(message: Message) -> typing.Awaitable[None]:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            return send(message)

        try:
            await self.app(scope, receive, noting_send)
        except Exception:
            await _answer_bug(scope, receive, send, started=started)
            raise

    async def _faults(
        self, scope: Scope, receive: Receive, headers: typing.Mapping[str, str], token_value: str | None
    ) -> tuple[ProtocolError | None, Receive]:
        """The error this request must get instead of its answer (if any), and the receive() to go on with."""
        emulator = self.emulator
        requested = headers.get(_MOCK_FAULT)
        if requested is not None:
            try:
                code = int(requested.strip())
            except ValueError:
                code = -1
            if code not in _FAULT_CODES:
                allowed = ", ".join(map(str, _FAULT_CODES))
                return ProtocolError(Code.BAD_REQUEST, f"X-Mock-Fault must be one of {allowed}"), receive
            return fault_error(emulator, code, token_value), receive
        if emulator.config.rate_limit is not None and token_value:
            limit, window = emulator.config.rate_limit
            now = emulator.clock.now()
            recent = [t for t in emulator.store.requests_by_token.get(token_value, []) if now - t < window]
            if len(recent) >= limit:
                retry = max(1, math.ceil(recent[0] + window - now))
                emulator.store.requests_by_token[token_value] = recent
                return ProtocolError(Code.RATE_LIMITED, headers={Header.RETRY_AFTER.value: str(retry)}), receive
            emulator.store.requests_by_token[token_value] = [*recent, now]
        if not emulator.faults.rules:
            return None, receive
        method, path = scope["method"], scope["path"]
        body: bytes | None = None
        if emulator.faults.wants_body(method, path):
            body, receive = await _read_small_body(headers, receive)
        plan = emulator.faults.plan(method, path, body)
        if plan.latency and path != PATHS.run_sse:  # a stream's latency delays each of its events instead
            # The server stopping ends the wait: the request is then answered at once.
            await emulator.clock.sleep_until(emulator.clock.now() + plan.latency, stop=emulator.stopping)
        if plan.code is not None:
            return fault_error(emulator, plan.code, token_value), receive
        scope[FAULTS_KEY] = plan
        return None, receive


async def _answer_bug(scope: Scope, receive: Receive, send: Send, *, started: bool) -> None:
    """A bug of ours: logged, and still an envelope (code 500) if no answer has started, never a traceback on
    the wire. The caller re-raises, as Starlette's ServerErrorMiddleware does, so servers and test clients see
    the error too."""
    logger.exception("unexpected error on %s %s", scope["method"], scope["path"])
    if not started:
        await bug_response()(scope, receive, send)


async def _read_small_body(headers: typing.Mapping[str, str], receive: Receive) -> tuple[bytes | None, Receive]:
    """Read a small body for matching, and a receive() that hands it to the app again."""
    length = headers.get("content-length")
    if length is None or not length.isdigit() or int(length) > MAX_MATCH_BODY:
        return None, receive
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: Message = await receive()
        return message

    return body, replay
