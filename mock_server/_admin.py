"""The emulator's control plane under ``/__mock__/`` (``specs/mock-admin.openapi.yaml``)."""

from __future__ import annotations

import datetime
import typing

from starlette.requests import Request
from starlette.responses import Response

from nemo_contract.protocol import Code
from nemo_contract.protocol.specs import ADMIN_SPEC

from ._clock import iso8601
from ._config import ConfigError
from ._emulator import emulator_of
from ._envelope import ok
from ._errors import ProtocolError
from ._validation import read_valid_json, validate_query

__all__ = ["ROUTES"]

MAX_WAIT = 60.0


async def health(request: Request) -> Response:
    emulator = emulator_of(request)
    return ok(
        {
            "status": "ok",
            "version": emulator.version,
            "seed": emulator.seed,
            "time_scale": emulator.clock.time_scale,
            "now": iso8601(emulator.clock.now()),
        }
    )


async def reset(request: Request) -> Response:
    emulator = emulator_of(request)
    emulator.reset()
    return ok({"now": iso8601(emulator.clock.now())})


async def advance(request: Request) -> Response:
    body = await read_valid_json(request, "/__mock__/clock/advance", ADMIN_SPEC)
    clock = emulator_of(request).clock
    try:
        return ok({"now": iso8601(clock.advance(float(body["seconds"])))})
    except ValueError as exc:
        raise ProtocolError(Code.BAD_REQUEST, str(exc)) from None


async def config(request: Request) -> Response:
    emulator = emulator_of(request)
    if request.method == "PUT":
        patch = await read_valid_json(request, "/__mock__/config", ADMIN_SPEC)
        try:
            emulator.set_config(emulator.current_config().merged(patch), new_faults="faults" in patch)
        except ConfigError as exc:
            raise ProtocolError(Code.BAD_REQUEST, str(exc)) from None
    return ok(emulator.current_config().to_dict())


def _parse_time(value: str) -> float:
    moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


async def account(request: Request) -> Response:
    emulator = emulator_of(request)
    user_id = request.path_params["user_id"]
    body = await read_valid_json(request, "/__mock__/accounts/{user_id}", ADMIN_SPEC)
    found = emulator.store.accounts.get(user_id)
    if found is None:
        raise ProtocolError(Code.NOT_FOUND, f"no account {user_id!r}")
    expires_at = None
    if "expires_at" in body:
        try:
            expires_at = _parse_time(body["expires_at"])
        except ValueError:
            raise ProtocolError(Code.BAD_REQUEST, "expires_at must be an ISO-8601 date-time") from None
    for key in ("available", "frozen", "export_allowed", "registered"):
        if key in body:
            setattr(found, key, body[key])
    tokens = [t for t in emulator.store.tokens.values() if t.user_id == user_id]
    for token in tokens:
        if expires_at is not None:
            token.expires_at = expires_at
    latest = max((t.expires_at for t in tokens), default=None)
    return ok(
        {
            "user_id": user_id,
            **found.to_dict(),
            "export_allowed": found.export_allowed,
            "registered": found.registered,
            "expires_at": None if latest is None else iso8601(latest),
        }
    )


async def journal(request: Request) -> Response:
    emulator = emulator_of(request)
    params = validate_query(request.query_params, "/__mock__/journal", "GET", ADMIN_SPEC)
    wait = params.pop("wait", None)
    query: dict[str, typing.Any] = {"since": 0, **params}
    if wait is None:
        entries = emulator.journal.find(**query)
    else:
        entries = await emulator.journal.wait_for(min(float(wait), MAX_WAIT), **query)
    return ok({"entries": [e.to_dict() for e in entries], "next": emulator.journal.next_seq})


ROUTES: list[tuple[str, typing.Callable[[Request], typing.Awaitable[Response]], list[str]]] = [
    ("/__mock__/health", health, ["GET"]),
    ("/__mock__/reset", reset, ["POST"]),
    ("/__mock__/clock/advance", advance, ["POST"]),
    ("/__mock__/config", config, ["GET", "PUT"]),
    ("/__mock__/accounts/{user_id}", account, ["PUT"]),
    ("/__mock__/journal", journal, ["GET"]),
]
