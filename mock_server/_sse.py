"""``POST /run_sse``: one agent turn streamed as Server-Sent Events on the virtual clock.

The stream's bytes are written here, not by sse-starlette's encoder, because the protocol fixes them exactly
(``data: <compact JSON>`` + LF LF, a bare ``data:`` heartbeat, ADK's ``{"error": ...}``). sse-starlette still
carries the stream: it notices a client that went away and ends open streams when the server shuts down.
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
import math
import string
import typing
import uuid

import anyio.to_thread
from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from nemo_contract.protocol import APP_NAME, PATHS, Code, EventFormat, HeartbeatMode

from ._emulator import Emulator, emulator_of
from ._envelope import dumps, read_json
from ._errors import ProtocolError
from ._faults import FaultPlan
from ._store import Account, Session
from ._validation import validate_body

if typing.TYPE_CHECKING:
    from ._agent import TurnPlan

__all__ = ["Turn", "run_sse"]

logger = logging.getLogger("nemo_mock")
_ALIASES = {"appName": "app_name", "userId": "user_id", "sessionId": "session_id", "newMessage": "new_message"}
_ALNUM = string.ascii_letters + string.digits
#: Messages at least this long are planned in a worker thread.
LONG_MESSAGE = 2000
MID_STREAM_ERROR = "agent run failed: the editing service hit an internal error"


def _normalise(body: typing.Any) -> typing.Any:
    """ADK accepts camelCase aliases of the request fields; so does the emulator."""
    if isinstance(body, dict):
        for alias, name in _ALIASES.items():
            if alias in body and name not in body:
                body[name] = body.pop(alias)
    return body


class _Shutdown:
    """Set by sse-starlette when the server is stopping: wakes the turn so it ends its stream itself."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._set = False

    def set(self) -> None:
        self._set = True
        self._emulator.clock.wake()

    def is_set(self) -> bool:
        return self._set


class Turn:
    """The life of one turn: credits frozen at the start, consumed at a normal end, refunded otherwise."""

    def __init__(self, emulator: Emulator, session: Session, account: Account, plan: TurnPlan, cost: int) -> None:
        self.emulator = emulator
        self.session = session
        self.account = account
        self.plan = plan
        self.cost = cost
        self.index = session.turns
        self.completed = False
        self.finished = False
        self.rng = emulator.store.ids.rng("events", session.session_id, self.index)
        self.invocation_id = "e-" + str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        # The turn's timeline starts when the request is handled, not when the stream is first read.
        self.started_at = emulator.clock.now()
        self.shutdown = _Shutdown(emulator)
        self._delay = self._shift = 0.0  # the latency fault: every event comes this much later than the last

    async def _wait(self, deadline: float) -> bool:
        """Sleep on the virtual clock; False when the server is stopping and the stream must end now."""
        return await self.emulator.clock.sleep_until(deadline, stop=self.shutdown.is_set)

    def finish(self) -> None:
        if self.finished:
            return
        self.finished = True
        self.session.busy = False
        if self.completed:
            self.account.consume(self.cost)
        else:
            self.account.refund(self.cost)

    # -- event bytes ----------------------------------------------------------------------------------------

    def _adk(self, parts: list[dict[str, typing.Any]], at: float, *, role: str = "model", **extra: typing.Any) -> bytes:
        state_delta = extra.pop("state_delta", {})
        event: dict[str, typing.Any] = {
            "content": {"parts": parts, "role": role},
            "invocationId": self.invocation_id,
            "author": APP_NAME,
            "actions": {"stateDelta": state_delta, "artifactDelta": {}, "requestedAuthConfigs": {}},
            **extra,
            "id": "".join(self.rng.choices(_ALNUM, k=8)),
            "timestamp": round(at, 6),
        }
        return b"data: " + dumps(event) + b"\n\n"

    def _typed(self, event: dict[str, typing.Any]) -> bytes:
        return b"data: " + dumps(event) + b"\n\n"

    def text(self, text: str, at: float) -> bytes:
        if self.emulator.config.event_format is EventFormat.TYPED:
            return self._typed({"type": "text", "content": text})
        return self._adk([{"text": text}], at)

    def call(self, call_id: str, name: str, args: dict[str, typing.Any], at: float) -> bytes:
        if self.emulator.config.event_format is EventFormat.TYPED:
            return self._typed({"type": "tool_call", "name": name, "args": args})
        part = {"functionCall": {"id": call_id, "name": name, "args": args}}
        return self._adk([part], at, longRunningToolIds=[])

    def result(
        self, call_id: str, name: str, response: dict[str, typing.Any], delta: dict[str, typing.Any], at: float
    ) -> bytes:
        if self.emulator.config.event_format is EventFormat.TYPED:
            result = {**response, "state_delta": delta} if delta else response
            return self._typed({"type": "tool_result", "name": name, "result": result})
        part = {"functionResponse": {"id": call_id, "name": name, "response": response}}
        return self._adk([part], at, role="user", state_delta=delta)

    def heartbeat(self, at: float) -> bytes:
        mode = self.emulator.config.heartbeat
        if mode is HeartbeatMode.COMMENT:
            moment = datetime.datetime.fromtimestamp(at, tz=datetime.UTC)
            return f": ping - {moment}\n\n".encode()
        if mode is HeartbeatMode.JSON:
            return b'data: {"type":"heartbeat"}\n\n'
        return b"data:\n\n"

    # -- the timeline of the turn ---------------------------------------------------------------------------

    async def _due(self, scheduled: float) -> float | None:
        """Wait for an event's time: its schedule plus the latency fault's delay, which every event adds to.

        Returns the time to stamp it with, or None when the server is stopping.
        """
        self._shift += self._delay
        moment = scheduled + self._shift
        return moment if await self._wait(moment) else None

    async def events(self, faults: FaultPlan) -> typing.AsyncIterator[bytes]:
        config, plan = self.emulator.config, self.plan
        limit = faults.error_after if faults.error_after is not None else faults.cut_after
        self._delay, self._shift = faults.latency, 0.0
        sent = 0
        at = self.started_at

        def over_limit() -> bool:
            return limit is not None and sent >= limit

        if over_limit():
            if faults.error_after is not None:
                yield self.error_event()
            return
        at += plan.opening_delay
        if plan.opening:
            if (moment := await self._due(at)) is None:
                return
            yield self.text(plan.opening, moment)
            sent += 1
        elif not await self._wait(at):
            return
        for step in plan.steps:
            if over_limit():
                break
            call_id = "adk-" + str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
            if (moment := await self._due(at)) is None:
                return
            yield self.call(call_id, step.name, step.args, moment)
            sent += 1
            started, done = at, at + step.duration
            interval = config.heartbeat_interval
            # Counted, not accumulated: beat k is at started + k * interval, with no float drift.
            for k in range(1, math.ceil(step.duration / interval)):
                if (moment := await self._due(started + k * interval)) is None:
                    return
                yield self.heartbeat(moment)
            at = done
            if (moment := await self._due(at)) is None:
                return
            if over_limit():
                break
            # The state changes when the tool finishes, whatever happens to the stream afterwards.
            self.session.state.update(copy.deepcopy(step.state_delta))
            for media in step.state_delta.get("generated_media", []):
                self.emulator.store.generated[media["id"]] = media
            yield self.result(call_id, step.name, step.response, step.state_delta, moment)
            sent += 1
        else:
            if plan.closing and not over_limit():
                at += plan.closing_delay
                if (moment := await self._due(at)) is None:
                    return
                yield self.text(plan.closing, moment)
                sent += 1
            if not over_limit():
                self.completed = True
                self.finish()
                return
        if faults.error_after is not None:
            yield self.error_event()

    @staticmethod
    def error_event() -> bytes:
        # ADK writes this one with json.dumps defaults (a space after the colon).
        return f"data: {json.dumps({'error': MID_STREAM_ERROR})}\n\n".encode()


async def _guarded(events: typing.AsyncIterator[bytes]) -> typing.AsyncIterator[bytes]:
    """A failure of our own mid-stream ends the stream as ADK ends it: with an ``{"error": ...}`` event."""
    try:
        async for event in events:
            yield event
    except Exception:
        logger.exception("turn failed mid-stream")
        yield Turn.error_event()


class _TurnResponse(EventSourceResponse):
    """Settles the turn however the stream ends: completed, cut, failed, client gone, or server stopping."""

    def __init__(self, turn: Turn, faults: FaultPlan) -> None:
        # A stopping server sets turn.shutdown; the turn then ends its stream, with the final chunk.
        super().__init__(
            _guarded(turn.events(faults)),
            ping=0,
            sep="\n",
            shutdown_event=turn.shutdown,  # type: ignore[arg-type]
            shutdown_grace_period=2.0,
        )
        self.turn = turn

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.turn.finish()


async def run_sse(request: Request) -> Response:
    emulator = emulator_of(request)
    token, account = emulator.authenticate(request)
    body = _normalise(await read_json(request))
    validate_body(body, PATHS.run_sse, "POST")
    emulator.own_user(token, body.get("user_id"))
    session = emulator.session_of(token, body["session_id"])
    if session.busy:
        raise ProtocolError(Code.CONFLICT, "a turn is already running in this session")
    config = emulator.config
    message = "\n".join(part["text"] for part in body["new_message"]["parts"])
    from ._agent import plan_turn  # on the first turn: the agent's tables are a fifth of the import time

    def plan() -> TurnPlan:
        return plan_turn(
            message,
            session.state,
            language=session.language,
            rng=emulator.store.ids.rng("turn", session.session_id, session.turns),
            silent_close_rate=config.silent_close_rate,
            durations=config.turn_durations,
            cdn_base=str(request.base_url).rstrip("/") + "/cdn",
        )

    session.busy = True  # before any await: a second turn on this session must see it
    try:
        # A long message takes the rule-based agent a noticeable moment: read it off the event loop.
        turn_plan = plan() if len(message) < LONG_MESSAGE else await anyio.to_thread.run_sync(plan)
        cost = config.credit_costs[turn_plan.kind]
        account.freeze(cost)
    except BaseException:
        session.busy = False
        raise
    turn = Turn(emulator, session, account, turn_plan, cost)
    session.turns += 1
    faults: FaultPlan = request.scope.get("state", {}).get("faults") or FaultPlan()
    return _TurnResponse(turn, faults)
