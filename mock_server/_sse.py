"""``POST /run_sse``: accept a turn, then stream its events as Server-Sent Events.

The handler checks the request, plans the turn and freezes its credits; the turn's life is ``_turns``, the bytes
of its events are the protocol's (``nemo_contract.protocol.events``). sse-starlette carries the stream: it
notices a client that went away and ends open streams when the server shuts down (``ping=0``: heartbeats are
the turn's own events, in the form the knobs say). Each event is noted in the request's journal entry as it is
sent, with its kind and its virtual and real time, and so is how the stream ended.
"""

from __future__ import annotations

import asyncio
import typing

import anyio.to_thread
from sse_starlette import EventSourceResponse
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from nemo_contract.protocol import PATHS, Code, OnDisconnect
from nemo_contract.protocol import fields as f
from nemo_contract.protocol.control import StreamEnd
from nemo_contract.protocol.shapes import TURN_REQUEST_ALIASES, message_text

from ._emulator import emulator_of
from ._envelope import read_json
from ._errors import ProtocolError
from ._faults import faults_of
from ._journal import Entry, entry_of
from ._turns import Sent, Turn
from ._validation import validate_body

if typing.TYPE_CHECKING:
    from ._agent import TurnPlan

__all__ = ["run_sse"]

#: Messages at least this long are planned in a worker thread.
LONG_MESSAGE = 2000


def _snake_case(body: typing.Any) -> typing.Any:
    if isinstance(body, dict):
        for alias, name in TURN_REQUEST_ALIASES.items():
            if alias in body and name not in body:
                body[name] = body.pop(alias)
    return body


class _TurnResponse(EventSourceResponse):
    """The stream of one turn: plays it, sends what it hands out, and notes in the journal how it ended."""

    def __init__(self, turn: Turn, entry: Entry | None) -> None:
        self.turn = turn
        self.entry = entry
        self.drained = False  # every event the turn handed out was sent
        self.events, self.play = turn.open()
        # A stopping server sets turn.shutdown; the turn then ends its stream, with the final chunk.
        super().__init__(
            self._frames(self.events),
            ping=0,
            sep="\n",
            shutdown_event=turn.shutdown,  # type: ignore[arg-type]
            shutdown_grace_period=2.0,
        )

    async def _frames(self, events: asyncio.Queue[Sent | None]) -> typing.AsyncIterator[bytes]:
        entry = self.entry
        while (sent := await events.get()) is not None:
            yield sent.frame
            if entry is not None:  # noted once it is sent (the next one is asked for after that)
                entry.add_event(sent.kind, sent.at, sent.frame)
        self.drained = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        turn, entry = self.turn, self.entry
        if entry is not None:
            entry.start_stream()
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(self.play)
        turn.emulator.detach(task)
        try:
            await super().__call__(scope, receive, send)
        finally:
            if not self.drained:  # the client left (or the server stopped) before the stream's end was sent
                turn.client_gone()
                if turn.on_disconnect is OnDisconnect.CANCEL:
                    # Stopped now, and settled now: the session is free before the client can ask again.
                    task.cancel()
                    turn.settle()
            if entry is not None:
                gone = StreamEnd.SHUTDOWN if turn.shutdown.is_set() else StreamEnd.CLIENT_GONE
                entry.finish(turn.end if self.drained and turn.end is not None else gone)


async def run_sse(request: Request) -> Response:
    emulator = emulator_of(request)
    token, account = emulator.authenticate(request)

    def check(body: typing.Any) -> None:  # where the body is parsed: off the event loop when it is large
        validate_body(_snake_case(body), PATHS.run_sse, "POST")

    body = await read_json(request, check)
    emulator.own_user(token, body.get(f.USER_ID))
    session = emulator.session_of(token, body[f.SESSION_ID])
    if session.busy:
        raise ProtocolError(Code.CONFLICT, "a turn is already running in this session")
    config = emulator.config
    message = message_text(body)
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
    turn = Turn(emulator, session, account, turn_plan, cost, faults_of(request.scope))
    session.turns += 1
    return _TurnResponse(turn, entry_of(request.scope))
