"""The emulator's control plane under ``/__mock__/`` (``specs/mock-admin.openapi.yaml``).

Each handler reads and checks its request, then goes through the emulator's typed control API (``_emulator``),
the same one the toolkit uses in-process.
"""

from __future__ import annotations

import typing

from starlette.requests import Request
from starlette.responses import Response

from nemo_contract.protocol import Code
from nemo_contract.protocol import fields as f
from nemo_contract.protocol.control import CONTROL
from nemo_contract.protocol.specs import ADMIN_SPEC

from ._clock import iso8601
from ._config import ConfigError
from ._emulator import emulator_of, parse_time
from ._envelope import ok
from ._errors import ProtocolError
from ._validation import read_valid_json, validate_query

__all__ = ["ROUTES"]

MAX_WAIT = 60.0


async def health(request: Request) -> Response:
    return ok(emulator_of(request).health())


async def reset(request: Request) -> Response:
    emulator = emulator_of(request)
    emulator.reset()
    return ok(dict(now=iso8601(emulator.clock.now())))


async def advance(request: Request) -> Response:
    body = await read_valid_json(request, CONTROL.clock_advance, ADMIN_SPEC)
    try:
        return ok(dict(now=iso8601(emulator_of(request).advance(float(body["seconds"])))))
    except ValueError as exc:
        raise ProtocolError(Code.BAD_REQUEST, str(exc)) from None


async def config(request: Request) -> Response:
    emulator = emulator_of(request)
    if request.method == "PUT":
        patch = await read_valid_json(request, CONTROL.config, ADMIN_SPEC)
        try:
            emulator.configure(**patch)
        except ConfigError as exc:
            raise ProtocolError(Code.BAD_REQUEST, str(exc)) from None
    return ok(emulator.current_config().to_dict())


async def account(request: Request) -> Response:
    emulator = emulator_of(request)
    user_id = request.path_params[f.USER_ID]
    body = await read_valid_json(request, CONTROL.account, ADMIN_SPEC)
    if user_id not in emulator.store.accounts:
        raise ProtocolError(Code.NOT_FOUND, f"no account {user_id!r}")
    changes = dict(body)
    if f.EXPIRES_AT in changes:
        try:
            changes[f.EXPIRES_AT] = parse_time(changes[f.EXPIRES_AT])
        except ValueError:
            raise ProtocolError(Code.BAD_REQUEST, "expires_at must be an ISO-8601 date-time") from None
    return ok(emulator.set_account(user_id, **changes))


async def journal(request: Request) -> Response:
    emulator = emulator_of(request)
    params = validate_query(request.query_params, CONTROL.journal, "GET", ADMIN_SPEC)
    wait = params.pop("wait", None)
    query: dict[str, typing.Any] = {"since": 0, **params}
    if wait is None:
        entries = emulator.entries(**query)
    else:
        entries = await emulator.wait_for(min(float(wait), MAX_WAIT), **query)
    return ok(dict(entries=[e.to_dict() for e in entries], next=emulator.journal.next_seq))


ROUTES: list[tuple[str, typing.Callable[[Request], typing.Awaitable[Response]], list[str]]] = [
    (CONTROL.health, health, ["GET"]),
    (CONTROL.reset, reset, ["POST"]),
    (CONTROL.clock_advance, advance, ["POST"]),
    (CONTROL.config, config, ["GET", "PUT"]),
    (CONTROL.account, account, ["PUT"]),
    (CONTROL.journal, journal, ["GET"]),
]
