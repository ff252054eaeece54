"""Reading answers: the envelope's ``code`` decides, whatever the HTTP status says.

Under the ``status_mode=always200`` variant every error arrives with HTTP 200, so a client that trusts the status
is wrong; the HTTP status is only consulted when there is no envelope at all (a proxy's error page, say).
"""

from __future__ import annotations

import json
import time
import typing

import httpx

from ._exceptions import (
    APIError,
    AuthenticationError,
    BadRequest,
    Conflict,
    ExportBlocked,
    FileTooLarge,
    NotFound,
    OutOfCredits,
    RateLimited,
    ServiceError,
    SessionNotFound,
    UnexpectedResponse,
    UnsupportedFileType,
)
from .protocol import ACCEPTED_FORMATS_TEXT, DEFAULT_WEB_URL, HTTP_STATUS, Code, Header, retry_after_seconds
from .protocol import fields as f

__all__ = ["api_error", "read_body", "retry_after"]


def _code_for_status(status: int) -> int:
    """When an answer has no envelope, the code its HTTP status stands for (``HTTP_STATUS`` read backwards).

    A status several codes share means the HTTP-level code of the same number: 402 is the plan (not 2001, which
    always comes with an envelope), 404 is "not found" (not 1002).
    """
    codes = [int(code) for code, mapped in HTTP_STATUS.items() if mapped == status and code != Code.SUCCESS]
    same = [code for code in codes if code == status]
    return (same or codes or [status])[0]


_SUMMARIES: dict[int, str] = {
    Code.TOKEN_INVALID: "The access token was refused",
    Code.SESSION_NOT_FOUND: "The editing session was not found",
    Code.INSUFFICIENT_CREDITS: "You are out of credits",
    Code.UNSUPPORTED_FILE_TYPE: "That file type is not supported",
    Code.FILE_TOO_LARGE: "That file is too large",
    Code.BAD_REQUEST: "The service rejected the request as malformed",
    Code.EXPORT_BLOCKED: "Export is not available",
    Code.NOT_FOUND: "The service could not find what was asked for",
    Code.CONFLICT: "The service is still busy with an earlier request of this session",
    Code.RATE_LIMITED: "The service is limiting the rate of requests",
}


def retry_after(response: httpx.Response, *, now: float | None = None) -> float:
    """Seconds to wait before the one retry of a 429: ``Retry-After`` (seconds or a date), else 30."""
    value = response.headers.get(Header.RETRY_AFTER.value, "")
    return retry_after_seconds(value, now=time.time() if now is None else now)


def api_error(
    code: int,
    *,
    http_status: int | None,
    detail: str | None = None,
    data: typing.Any = None,
    wait: float | None = None,
) -> APIError:
    """The exception for an error ``code``, with the advice the documents prescribe."""
    summary = _SUMMARIES.get(code, f"The service answered with error {code}")
    common: dict[str, typing.Any] = dict(code=code, http_status=http_status, detail=detail)
    if code == Code.INSUFFICIENT_CREDITS:
        # PROTOCOL.md: anonymous users get data.register_url (ending ?bind=<user_id>); registered users none.
        link = data.get(f.REGISTER_URL) if isinstance(data, dict) else None
        if not isinstance(link, str) or not link.startswith(("https://", "http://")):
            link = None
        return OutOfCredits(summary, register_url=link, top_up_url=DEFAULT_WEB_URL, **common)
    if code == Code.UNSUPPORTED_FILE_TYPE:
        return UnsupportedFileType(summary, accepted=ACCEPTED_FORMATS_TEXT, **common)
    kinds: dict[int, type[APIError]] = {
        Code.TOKEN_INVALID: AuthenticationError,
        Code.SESSION_NOT_FOUND: SessionNotFound,
        Code.FILE_TOO_LARGE: FileTooLarge,
        Code.BAD_REQUEST: BadRequest,
        Code.EXPORT_BLOCKED: ExportBlocked,
        Code.NOT_FOUND: NotFound,
        Code.CONFLICT: Conflict,
        Code.RATE_LIMITED: RateLimited,
    }
    error = kinds.get(code, ServiceError)(summary, **common)
    if code == Code.RATE_LIMITED and wait is not None:
        error.advice = f"Too many requests; wait about {round(wait)} seconds before trying again."
    return error


def read_body(response: httpx.Response) -> dict[str, typing.Any]:
    """The JSON object of a successful answer; raises the ``APIError`` of an error envelope or status.

    Success is ``code == 0``, or (the wrapped render shape, which has no code) ``success: true``.
    """
    try:
        body = json.loads(response.content) if response.content else None
    except (ValueError, UnicodeDecodeError):
        body = None
    status = response.status_code
    if isinstance(body, dict):
        code = body.get(f.CODE)
        if isinstance(code, int) and not isinstance(code, bool):
            if code == Code.SUCCESS:
                return body
            message = body.get(f.MESSAGE)
            raise api_error(
                code,
                http_status=status,
                detail=message if isinstance(message, str) else None,
                data=body.get(f.DATA),
                wait=retry_after(response) if code == Code.RATE_LIMITED else None,
            )
        if body.get(f.SUCCESS) is True:
            return body
    if 200 <= status < 300:
        raise UnexpectedResponse(f"The service sent an answer without a result (HTTP {status})")
    code = _code_for_status(status)
    raise api_error(
        code,
        http_status=status,
        wait=retry_after(response) if code == Code.RATE_LIMITED else None,
    )
