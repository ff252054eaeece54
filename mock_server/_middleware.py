"""What happens around every API request: the journal, per-request and configured faults, rate limits."""

from __future__ import annotations

import json
import math
import re
import typing

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nemo_contract._protocol import ATTRIBUTION_HEADERS, PATHS, Code, Header, register_url

from ._emulator import Emulator
from ._envelope import error_response
from ._errors import ProtocolError

__all__ = ["EmulatorMiddleware", "fault_error"]

#: Bodies larger than this are not read for ``body_contains`` matching (uploads stay streamed).
MAX_MATCH_BODY = 1024 * 1024
_CODE_PEEK = 64 * 1024
_MOCK_FAULT = Header.MOCK_FAULT.value.lower()
_LEADING_CODE = re.compile(rb'\{"code":(-?[0-9]{1,9})[,}]')
_FAULT_CODES = sorted(int(c) for c in Code if c is not Code.SUCCESS)
#: (journal key, lower-case header name) of each attribution header.
_ATTRIBUTION = tuple((h.value.removeprefix("X-Skill-").lower(), h.value.lower()) for h in ATTRIBUTION_HEADERS)


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
            data={"register_url": register_url(account.user_id)} if anonymous and account else None,
        )
    return ProtocolError(Code(code))


def _bearer(headers: typing.Mapping[str, str]) -> str | None:
    scheme, _, value = headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


class EmulatorMiddleware:
    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emulator = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope.get("path", "")
        if scope["type"] != "http" or path.startswith("/__mock__/"):
            await self.app(scope, receive, send)
            return
        emulator = self.emulator
        # One pass over the raw headers (ASGI names are lower-case; the first value of a name counts, as in
        # Starlette's Headers.get).
        headers: dict[str, str] = {}
        for raw_name, raw_value in scope["headers"]:
            name = raw_name.decode("latin-1")
            if name not in headers:
                headers[name] = raw_value.decode("latin-1")
        method: str = scope["method"]
        token_value = _bearer(headers)
        token = emulator.store.tokens.get(token_value) if token_value else None
        entry = emulator.journal.record(
            time=emulator.clock.now(),
            method=method,
            path=path,
            query=scope.get("query_string", b"").decode("latin-1"),
            token=token_value,
            user_id=token.user_id if token else None,
            headers_present=sorted({k.title() for k in headers}),
            attribution={name: headers.get(header) for name, header in _ATTRIBUTION},
        )
        peek = bytearray()
        streaming = False

        async def journalled_send(message: Message) -> None:
            nonlocal streaming
            kind = message["type"]
            if kind == "http.response.start":
                entry.status = message["status"]
                for key, value in message.get("headers", ()):
                    if key.lower() == b"content-type":
                        streaming = value.startswith(b"text/event-stream")
                        break
            elif kind == "http.response.body":
                chunk: bytes = message.get("body", b"")
                if streaming:
                    if chunk:
                        entry.add_event(chunk.decode("utf-8", "replace").rstrip("\n"))
                elif len(peek) < _CODE_PEEK:
                    peek.extend(chunk[: _CODE_PEEK - len(peek)])
                if not message.get("more_body", False):
                    entry.complete = True
                    entry.code = _code_of(peek, entry.status) if not streaming else 0
            await send(message)

        if _MOCK_FAULT in headers or emulator.config.rate_limit is not None or emulator.faults.rules:
            try:
                error, receive = await self._faults(scope, receive, headers, token_value)
            except ProtocolError as exc:
                error = exc
            if error is not None:
                response = error_response(error, emulator.config.status_mode)
                await response(scope, receive, journalled_send)
                return
        else:  # nothing can fault this request (the common case): skip the checks
            scope.setdefault("state", {})
        await self.app(scope, receive, journalled_send)

    async def _faults(
        self, scope: Scope, receive: Receive, headers: typing.Mapping[str, str], token_value: str | None
    ) -> tuple[ProtocolError | None, Receive]:
        """The error this request must get instead of its answer (if any), and the receive() to go on with."""
        emulator = self.emulator
        scope.setdefault("state", {})
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
            await emulator.clock.sleep(plan.latency)
        if plan.code is not None:
            return fault_error(emulator, plan.code, token_value), receive
        scope["state"]["faults"] = plan
        return None, receive


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


def _code_of(peek: bytes | bytearray, status: int | None) -> int | None:
    # The emulator's own envelopes are compact JSON that starts with the code: read it without parsing the body.
    found = _LEADING_CODE.match(peek)
    if found is not None:
        return int(found[1])
    try:
        value = json.loads(peek)
    except ValueError:
        return None if status is None or status >= 400 else 0
    if isinstance(value, dict):
        if isinstance(value.get("code"), int):
            return int(value["code"])
        if value.get("success") is True:
            return 0
    return None
