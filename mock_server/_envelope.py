"""Responses in the protocol's envelope, compact JSON, statuses per the ``status_mode`` knob."""

from __future__ import annotations

import json
import typing

from starlette.responses import Response

from nemo_contract._protocol import HTTP_STATUS, Code, StatusMode

from ._errors import ProtocolError

__all__ = ["dumps", "error_response", "json_response", "loads", "ok"]


def _no_constant(name: str) -> typing.NoReturn:
    raise ValueError(f"{name} is not JSON")


def loads(raw: bytes) -> typing.Any:
    """A request body as JSON, strictly (no NaN or Infinity); a 400 envelope when it is not."""
    try:
        return json.loads(raw, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ProtocolError(Code.BAD_REQUEST, "request body is not valid JSON") from None


#: One encoder for every response (json.dumps with options builds a new one per call).
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: typing.Any) -> bytes:
    """Compact JSON, as the real service sends it (some clients grep it)."""
    return _COMPACT.encode(value).encode()


def json_response(value: typing.Any, status: int = 200, headers: typing.Mapping[str, str] | None = None) -> Response:
    return Response(dumps(value), status_code=status, headers=headers, media_type="application/json")


def ok(data: typing.Any) -> Response:
    """``{"code":0,"message":"success","data":...}``."""
    return json_response({"code": 0, "message": "success", "data": data})


def error_response(error: ProtocolError, status_mode: StatusMode) -> Response:
    """``{"code":...,"message":...,"data":...}`` with the code's HTTP status, or 200 under ``always200``."""
    status = HTTP_STATUS.get(error.code, 400) if status_mode is StatusMode.HTTP else 200
    body = {"code": int(error.code), "message": error.message, "data": error.data}
    headers = dict(error.headers)
    if error.code is Code.METHOD_NOT_ALLOWED and "allow" not in {k.lower() for k in headers}:
        headers["Allow"] = "GET, POST, PUT"
    return json_response(body, status=status, headers=headers)
