"""Responses in the protocol's envelope, compact JSON, statuses per the ``status_mode`` knob."""

from __future__ import annotations

import json
import typing

from starlette.responses import Response

from nemo_contract._protocol import HTTP_STATUS, Code, StatusMode

from ._errors import ProtocolError

__all__ = ["dumps", "error_response", "json_response", "ok"]


def dumps(value: typing.Any) -> bytes:
    """Compact JSON, as the real service sends it (some clients grep it)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


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
